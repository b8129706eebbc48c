"""Item forms on the server (事项表单): XLSForm workbooks converted and stored in `ot-catalog`.

`xlsform.py` turns a workbook into the JSON definition `shared.forms` reads; `store.py` keeps
every version with its workbook and serves `onetrip admin load-form` / `export-form`.
"""
