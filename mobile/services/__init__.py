"""Device services without Flet: scans, signatures, QR codes, receipts, PIN, translations."""
