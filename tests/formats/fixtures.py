"""Sample files for the formats tests (copies of shared/data, see tests/fixtures/formats/README.md)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

SAMPLES: dict[str, tuple[str, ...]] = {
    "batchml": ("batchml/2026-04-26_BatchML_Verfahrensrezept1.xml",
                "batchml/2026-04-26_BatchML_Verfahrensrezept2.xml", "batchml/ExampleGeneralRecipe.xml",
                "batchml/MasterRecipe_B2MML.xml", "batchml/cough-syrup-pmw.xml"),
    "ignition-tags": ("ignition/full-tag-export.json", "ignition/native-tag-export.json",
                      "ignition/gh-provider-export.json", "ignition/mes-udt-types.json",
                      "ignition/default-udt-types.json"),
    "kepware-project": ("kepware/simdemo_en-us.json", "kepware/Channels/ControlLogixChannel1.json",
                        "kepware/Channels/ModbusChannel1.json", "kepware/Channels/SimulatorChannel1.json",
                        "kepware/Tags/ControlLogixExample.csv", "kepware/Tags/ModbusExample.csv",
                        "kepware/Tags/SimulatorAllDataTypes.csv"),
    "plcopen-xml": ("plcopen/plc.xml", "plcopen/beremiz-iec61131-lang-test.xml", "plcopen/beremiz-python.xml",
                    "plcopen/codesys-home-automation.xml"),
    "erp-mapping-csv": ("erp-mapping/production-postings.csv",),
}
HOSTILE = ("hostile/xxe.xml", "hostile/billion-laughs.xml", "hostile/not-json.json", "hostile/blob.bin")


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def tag_files() -> list[tuple[str, str, bytes]]:
    """The repo-like input of ``tag_index``: every Ignition and Kepware sample with its format."""
    return [(name, fmt, read(name)) for fmt in ("ignition-tags", "kepware-project") for name in SAMPLES[fmt]]
