"""Reading the report's HTML as a reader meets it: banners, summary rows, blocks, visible text."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"br", "img", "meta", "link", "hr", "input"}


class Page(HTMLParser):
    """`rows`: the summary's rows (data-row) with their attributes and text; `banners`: the banners
    in page order; `first_in_body`: the first element's attributes; `text`: every visible string;
    `elements`: every element with an id or data-* attribute: its tag, attributes, text, `parents`
    (such elements it is inside) and, for a table row, the text of each `cells`."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[dict] = []
        self.banners: list[dict] = []
        self.first_in_body: dict | None = None
        self.title = ""
        self.text: list[str] = []
        self.elements: list[dict] = []
        self._open: list[dict] = []      # elements being collected, innermost last
        self._stack: list[str] = []
        self._in_body = self._in_title = self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self._in_body = True
            return
        if self._in_body and self.first_in_body is None:
            self.first_in_body = {"tag": tag, **a}
        self._in_title |= tag == "title"
        self._in_style |= tag == "style"
        if tag in VOID:
            return
        if tag in ("td", "th") and self._open and self._open[-1] is not None and self._open[-1]["tag"] == "tr":
            self._open[-1]["cells"].append("")
        element = None
        if "id" in a or any(k.startswith("data-") for k in a):
            element = {"tag": tag, **a, "text": "", "cells": [], "parents": [e for e in self._open if e is not None]}
            self.elements.append(element)
            if tag == "tr" and "data-row" in a:
                self.rows.append(element)
            if "data-banner" in a:
                self.banners.append(element)
        self._stack.append(tag)
        self._open.append(element)

    def handle_endtag(self, tag):
        self._in_title &= tag != "title"
        self._in_style &= tag != "style"
        if tag in VOID or not self._stack:
            return
        while self._stack:
            self._open.pop()
            if self._stack.pop() == tag:
                break

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_style or not self._in_body:
            return
        self.text.append(data)
        for element in self._open:
            if element is not None:
                element["text"] += data
                if element["cells"]:
                    element["cells"][-1] += data

    def row(self, name: str, unit: str | None = None) -> dict:
        found = [r for r in self.rows if r["data-row"] == name and (unit is None or r.get("data-unit") == unit)]
        assert len(found) == 1, f"{len(found)} summary rows {name!r} for {unit!r}"
        return found[0]

    def find(self, **attrs) -> list[dict]:
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.elements if all(e.get(k) == v for k, v in want.items())]
