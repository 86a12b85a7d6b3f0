"""Formats layer benchmark (issue 5): what validation and semantic diff cost at the gate.

Prints plain lines, e.g. ``ignition 5.1 MB: parse+validate+diff 0.42 s``. Inputs are generated in
memory from the sample files in tests/fixtures/formats by replicating their elements; each figure
is the best of a few runs of ``analyze(old, new)`` (both versions parsed, new validated, diffed).

Run: ``.venv/bin/python bench/formats_bench.py``. Targets: ≤ 1 s for the 5 MB Ignition export and
the 2 MB BatchML recipe; ``check`` of a 17 MB Ignition export < 2 s and < 200 MB peak RSS (issue 26),
measured in a fresh process that reads the file and validates it as ``gatekeeper check`` does.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.formats import Context, analyze, tag_index

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "formats"
RUNS = 3


def best_of(action: Callable[[], object], runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def ignition_export(target_bytes: int) -> tuple[bytes, bytes]:
    """A plant of UDT machine instances with OPC paths, alarms and history, about ``target_bytes``;
    the new version changes one OPC path and one alarm setpoint in every 100 machines."""
    sample = json.loads((FIXTURES / "ignition/full-tag-export.json").read_bytes())
    exchange = sample["tags"][0]["tags"][0]
    machine = next(tag for tag in exchange["tags"] if tag["name"] == "Machine1")
    for member in machine["tags"][1]["tags"]:
        member.update(valueSource="opc", opcItemPath=f"ns=2;s=PLC.{member['name']}", dataType="Float8",
                      historyEnabled=True, historyProvider="Historian", engUnit="pcs",
                      alarms=[{"name": "High", "mode": "AboveValue", "setpointA": 85.0, "priority": "High"}])
    machines: list[dict[str, Any]] = []
    exchange["tags"] = machines
    machines.append(machine)
    one = len(json.dumps(sample, indent=2))
    machines.append(machine)
    per_machine = len(json.dumps(sample, indent=2)) - one  # indented as deep as in the file
    machines.clear()
    for index in range(max(1, (target_bytes - one) // per_machine + 1)):
        clone = copy.deepcopy(machine)
        clone["name"] = f"Machine{index:05d}"
        machines.append(clone)
    old = json.dumps(sample, indent=2).encode()
    for clone in machines[::100]:
        status = clone["tags"][1]["tags"]
        status[0]["opcItemPath"] += ".v2"
        status[1]["alarms"][0]["setpointA"] = 90.0
    return old, json.dumps(sample, indent=2).encode()


def batchml_recipe(target_bytes: int) -> tuple[bytes, bytes]:
    """The general recipe with its process elements replicated to about ``target_bytes``; the new
    version changes a setpoint in every 50th copy and swaps the first two steps."""
    text = (FIXTURES / "batchml/ExampleGeneralRecipe.xml").read_text(encoding="utf-8")
    start = text.index("    <b2mml:ProcessElement>")
    end = text.index("  </b2mml:ProcessProcedure>")
    block, head, tail = text[start:end], text[:start], text[end:]
    copies = max(1, (target_bytes - len(head) - len(tail)) // len(block))
    ids = ("Mixing_of_Liquids001", "Dosing001", "Heating_of_liquids001", "Revolutions_per_minute001",
           "Mixing_Duration001", "Dosing_Amount001", "Temperature_Heating001", "Heating_Duration001")

    def copy_of(index: int, value: str = "200") -> str:
        renamed = block.replace("<b2mml:ValueString>200<", f"<b2mml:ValueString>{value}<")
        for ident in ids:
            renamed = renamed.replace(f">{ident}<", f">{ident}_{index:05d}<")
        return renamed

    blocks = [copy_of(index) for index in range(copies)]
    old = head + "".join(blocks) + tail
    changed = [copy_of(index, "250") if index % 50 == 0 else text for index, text in enumerate(blocks)]
    changed[0], changed[1] = changed[1], changed[0]
    return old.encode(), (head + "".join(changed) + tail).encode()


def fifty_files() -> list[tuple[str, str, bytes, bytes]]:
    """50 files as a large push would carry them: every sample, cycled, each with a one-value edit."""
    samples = [("batchml", p) for p in sorted((FIXTURES / "batchml").glob("*.xml"))]
    samples += [("ignition-tags", p) for p in sorted((FIXTURES / "ignition").glob("*.json"))]
    samples += [("kepware-project", p) for p in sorted((FIXTURES / "kepware").rglob("*.*"))]
    samples += [("plcopen-xml", FIXTURES / "plcopen/plc.xml"),
                ("erp-mapping-csv", FIXTURES / "erp-mapping/production-postings.csv")]
    edits = {b"8.0<": b"8.5<", b'"value": 1': b'"value": 2', b"100": b"250", b'value="5.0"': b'value="6.0"',
             b",0.1,": b",0.2,", b"Device1": b"Device2"}
    files = []
    for index in range(50):
        fmt, path = samples[index % len(samples)]
        old = path.read_bytes()
        new = old
        for before, after in edits.items():
            new = new.replace(before, after, 1)
        files.append((fmt, f"{index}/{path.relative_to(FIXTURES)}", old, new))
    return files


CHECK_CHILD = """
import resource, sys, time
from gatekeeper import formats
started = time.perf_counter()
data = open(sys.argv[1], "rb").read()
findings = formats.validate("ignition-tags", "tags/plant.json", data, formats.tag_context([]))
seconds = time.perf_counter() - started
errors = sum(f.severity == "error" for f in findings)
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, errors)
"""


def check_in_fresh_process(data: bytes) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, error findings) of validating ``data`` in a new interpreter."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        handle.write(data)
        handle.flush()
        runs = [subprocess.run([sys.executable, "-c", CHECK_CHILD, handle.name], capture_output=True, text=True,
                               check=True).stdout.split() for _ in range(RUNS)]
    best = min(runs, key=lambda run: float(run[0]))
    return float(best[0]), max(int(run[1]) for run in runs) / 1024, int(best[2])


def main() -> None:
    _old, big = ignition_export(17 * 1024 * 1024)
    seconds, peak, errors = check_in_fresh_process(big)
    verdict = "OK" if seconds < 2 and peak < 200 and errors == 0 else "OVER TARGET"
    print(f"ignition {len(big) / 1e6:.1f} MB: check {seconds:.2f} s, peak RSS {peak:.0f} MB, {errors} errors "
          f"(target < 2 s, < 200 MB: {verdict})")

    old, new = ignition_export(5 * 1024 * 1024)
    seconds = best_of(lambda: analyze("ignition-tags", "tags/plant.json", old, new))
    changes = len(analyze("ignition-tags", "tags/plant.json", old, new).changes)
    print(f"ignition {len(new) / 1e6:.1f} MB: parse+validate+diff {seconds:.2f} s ({changes} changes)")

    old, new = batchml_recipe(2 * 1024 * 1024)
    seconds = best_of(lambda: analyze("batchml", "recipes/big.xml", old, new))
    changes = len(analyze("batchml", "recipes/big.xml", old, new).changes)
    print(f"batchml {len(new) / 1e6:.1f} MB: parse+validate+diff {seconds:.2f} s ({changes} changes)")

    files = fifty_files()
    tag_files = [(path, fmt, new) for fmt, path, _old, new in files if fmt in ("ignition-tags",
                                                                                "kepware-project")]
    index_seconds = best_of(lambda: tag_index(tag_files))
    context = Context(tag_index(tag_files))
    total = best_of(lambda: [analyze(fmt, path, old, new, context) for fmt, path, old, new in files])
    size = sum(len(new) for *_rest, new in files)
    print(f"50 formatted files ({size / 1e6:.1f} MB): analyze {total:.2f} s total "
          f"({total / 50 * 1000:.1f} ms per file), tag index {index_seconds:.2f} s")


if __name__ == "__main__":
    main()
