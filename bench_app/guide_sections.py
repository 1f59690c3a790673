"""The headings of the guide the catalog cites, as a technique's `guide_section` names them.

The guide is the NestJS performance guide (shared/guide.md, beside this repository in
development and CI). A heading is named with the heading above it: "Database Performance /
Query Optimization Patterns", "Performance Optimization Checklist / Memory Management". The
list is kept here so every citation can be checked without the guide at hand;
tests/app/test_guide_sections.py checks the list against the guide itself wherever the guide
is there (always in CI).
"""

import re

GUIDE_HEADINGS = (
    "Performance Optimization Areas / Database Performance",
    "Database Performance / Query Optimization Patterns",
    "Database Performance / Database Connection Optimization",
    "Database Performance / Database Indexing Strategies",
    "Performance Optimization Areas / Caching Strategies",
    "Caching Strategies / Multi-Level Caching Implementation",
    "Caching Strategies / Smart Caching Interceptor",
    "Performance Optimization Areas / Response Optimization",
    "Response Optimization / Response Compression and Serialization",
    "Response Optimization / Efficient Data Serialization",
    "Performance Optimization Areas / Memory Management",
    "Memory Management / Memory Leak Prevention",
    "Performance Optimization Areas / HTTP Request Optimization",
    "HTTP Request Optimization / Connection Pooling and Request Optimization",
    "Performance Optimization Areas / Background Job Optimization",
    "Background Job Optimization / Efficient Queue Processing",
    "Performance Monitoring / Application Performance Monitoring",
    "Performance Optimization Checklist / Database Optimization",
    "Performance Optimization Checklist / Caching Strategy",
    "Performance Optimization Checklist / Memory Management",
    "Performance Optimization Checklist / HTTP Optimization",
    "Performance Optimization Checklist / Background Processing",
    "Performance Optimization Checklist / Monitoring & Alerting",
)

_HEADING = re.compile(r"^(#{2,4}) (.+)$", re.MULTILINE)


def _plain(heading: str) -> str:
    """A heading's words: without bold marks, the leading emoji or number, "(High Impact)"."""
    text = re.sub(r"^[^A-Za-z]*", "", heading.replace("**", "").strip())
    return re.sub(r"\s*\([^)]*Impact\)$", "", text)


def headings_of(markdown: str) -> list[str]:
    """Every ### and #### heading of the guide, named with the heading above it."""
    above: dict[int, str] = {}
    found = []
    for marks, heading in _HEADING.findall(markdown):
        level, text = len(marks), _plain(heading)
        above[level] = text
        if level > 2:
            found.append(f"{above[level - 1]} / {text}")
    return found
