"""Bilingual user-facing text (中英文提示): Chinese first, English second."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """A message shown to a person: Chinese text and its English translation."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"
