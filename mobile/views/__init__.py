"""Flet screens (界面): thin builders over the view-models; no screen logic lives here."""
