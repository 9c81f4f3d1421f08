"""CITATION.cff for a release: how to cite this version of the dataset."""

from __future__ import annotations

import json

from pipelines.publish.descriptor import CONTRIBUTORS, DATASET, KEYWORDS, LICENSE, TITLE_EN, TITLE_ZH


def _q(value: str) -> str:
    # JSON strings are valid YAML scalars and escape everything that needs it.
    return json.dumps(value, ensure_ascii=False)


def citation_cff(version: str, created: str, repository: str | None = None) -> str:
    """A CFF 1.2.0 file for the dataset at ``version`` (date from ``created``, never the wall clock)."""
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        f"title: {_q(f'{TITLE_EN} / {TITLE_ZH}')}",
        f"version: {_q(version)}",
        f"date-released: {_q(created[:10])}",
        f"license: {_q(LICENSE['name'])}",
        "authors:",
    ]
    lines += [f"  - name: {_q(c['title'])}" for c in CONTRIBUTORS]
    lines.append("keywords:")
    lines += [f"  - {_q(k)}" for k in KEYWORDS]
    if repository:
        lines.append(f"repository-code: {_q(repository)}")
    lines.append(f"identifiers:\n  - type: other\n    value: {_q(f'{DATASET}@{version}')}")
    return "\n".join(lines) + "\n"
