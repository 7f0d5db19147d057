"""The layering of service/ that import-linter checks (pyproject.toml) covers every core module."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "service").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_core_module_is_in_the_core_contract() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in settings["tool"]["importlinter"]["contracts"] if c.get("id") == "core")
    listed = set(contract["source_modules"])
    core = [m for m in modules() if m != "service" and not m.startswith(("service.http", "service.cli"))]
    missing = [m for m in core if not any(m == s or m.startswith(s + ".") for s in listed)]
    assert not missing, f"add these core modules to the 'core' contract in pyproject.toml: {missing}"
    assert "flask" in contract["forbidden_modules"] and "service.http" in contract["forbidden_modules"]
