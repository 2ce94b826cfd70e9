"""The JUnit XML report of `tracker test --junit FILE`, in the shape CI systems read
(Jenkins, GitLab, GitHub's test reporters): one <testsuite> per test file, one <testcase> per
[[test]], a <failure> listing its failed expectations."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.service.catalog_tests import failure_text, when

if TYPE_CHECKING:
    from tracker.service.catalog_tests import FileResult


def junit_tree(results: list[FileResult]) -> ET.ElementTree:
    cases = sum(len(r.cases) for r in results)
    failed = sum(not c.passed for r in results for c in r.cases)
    root = ET.Element("testsuites", name="tracker test", tests=str(cases), failures=str(failed), errors="0",
                      time=f"{sum(r.seconds for r in results):.3f}")
    for result in results:
        suite = ET.SubElement(
            root, "testsuite", name=str(result.spec.path), tests=str(len(result.cases)),
            failures=str(sum(not c.passed for c in result.cases)), errors="0", skipped="0",
            time=f"{result.seconds:.3f}",
        )
        for case in result.cases:
            element = ET.SubElement(suite, "testcase", name=case.case.name, classname=str(result.spec.path),
                                    file=str(result.spec.path), line=str(case.case.line))
            if case.failures:
                count = len(case.failures)
                failure = ET.SubElement(element, "failure", type="expectation",
                                        message=f"{count} expectation{'s' * (count != 1)} failed at {when(result, case)}")
                failure.text = "\n".join(failure_text(result, case, f) for f in case.failures)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: list[FileResult], path: Path) -> None:
    junit_tree(results).write(path, encoding="utf-8", xml_declaration=True)
