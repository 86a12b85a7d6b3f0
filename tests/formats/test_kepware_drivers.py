"""Kepware (issue 26): address syntax per driver, each on real addresses from the drivers' manuals
and the vendor's example projects; property names as the configuration UI shows them; Config API
answers for one channel, one device or a list as well as whole projects."""

from __future__ import annotations

import json

import pytest

from gatekeeper.formats import kepware, tag_context
from gatekeeper.formats.kepware_drivers import address_problem, ui_name
from tests.formats.fixtures import read, tag_files

SIMDEMO = "kepware/simdemo_en-us.json"

VALID = [
    ("Modbus TCP/IP Ethernet", ["40001", "400001", "00012", "10001", "30001.5", "40001 [4]"]),
    ("Allen-Bradley ControlLogix Ethernet", ["BOOL", "Program:MainProgram.Count", "Motor[3].Speed", "Flags.5",
                                            "Recipe.Step[2,1]"]),
    ("Siemens TCP/IP Ethernet", ["DB1.DBW0", "DB10.DBX4.3", "DB2.REAL8", "MW10", "I0.0", "QB1", "T1"]),
    ("BACnet/IP", ["AnalogInput.1.PresentValue", "BinaryValue.20.PresentValue", "AnalogOutput.3.PriorityArray[8]"]),
    ("OPC UA Client", ["ns=2;s=Channel1.Device1.Tag1", "ns=0;i=2258", "nsu=urn:plant:line1;s=Speed"]),
    ("Simulator", ["K0100.00", "K0440 [4]", "R0001", "S000", "RAMP (120, 0, 100, 2)"]),
]
INVALID = [
    ("BACnet/IP", "40001"),  # the example: a Modbus address on a BACnet/IP tag
    ("Modbus TCP/IP Ethernet", "DB1.DBW0"),
    ("Modbus TCP/IP Ethernet", "50001"),
    ("Siemens TCP/IP Ethernet", "40001"),
    ("OPC UA Client", "Channel1.Device1.Tag1"),
    ("Simulator", "X0001"),
    ("Allen-Bradley ControlLogix Ethernet", "40001"),
]


@pytest.mark.parametrize(("driver", "addresses"), VALID)
def test_real_addresses_are_valid_for_their_driver(driver: str, addresses: list[str]) -> None:
    assert [address_problem(driver, address) for address in addresses] == [None] * len(addresses)


@pytest.mark.parametrize(("driver", "address"), INVALID)
def test_an_address_of_another_driver_is_refused(driver: str, address: str) -> None:
    assert (address_problem(driver, address) or "").startswith(f"address '{address}' is not valid for the {driver}")


def test_a_config_api_project_tag_is_checked_against_its_channels_driver() -> None:
    document = json.loads(read(SIMDEMO).decode("utf-8-sig"))
    channel = document["project"]["channels"][0]
    channel["servermain.MULTIPLE_TYPES_DEVICE_DRIVER"] = "BACnet/IP"
    channel["devices"][0]["servermain.MULTIPLE_TYPES_DEVICE_DRIVER"] = "BACnet/IP"
    found = kepware.validate("p.json", json.dumps(document).encode())
    assert found and all("is not valid for the BACnet/IP driver" in f.message for f in found)


def test_a_project_maker_csv_is_checked_against_the_driver_of_the_channel_naming_it() -> None:
    context = tag_context(tag_files())
    csv = read("kepware/Tags/ModbusExample.csv")
    assert kepware.validate("kepware/Tags/ModbusExample.csv", csv, context) == []
    bad = csv.replace(b'"40003"', b'"DB1.DBW0"')
    [found] = kepware.validate("kepware/Tags/ModbusExample.csv", bad, context)
    assert found.message.startswith("tag Tag3: address 'DB1.DBW0' is not valid for the Modbus TCP/IP Ethernet")


def test_device_properties_read_as_the_configuration_ui_names_them() -> None:
    old = read(SIMDEMO)
    new = old.replace(b'"servermain.DEVICE_SCAN_MODE": 0', b'"servermain.DEVICE_SCAN_MODE": 2', 1)
    new = new.replace(b'"servermain.DEVICE_ID_STRING": "1"', b'"servermain.DEVICE_ID_STRING": "7"', 1)
    texts = [c.text for c in kepware.diff("p.json", old, new)]
    assert texts == ["device Channel1.Device1 Device ID 1 → 7",
                     "device Channel1.Device1 Scan Mode Respect Client-Specified Scan Rate (0) → Request All Data "
                     "at Scan Rate (2)"]
    assert ui_name("modbus_ethernet.DEVICE_PORT_NUMBER") == "Port Number (modbus_ethernet)"


def test_config_api_answers_for_one_channel_one_device_or_a_list_are_read() -> None:
    channel = json.loads(read(SIMDEMO).decode("utf-8-sig"))["project"]["channels"][0]
    device = channel["devices"][0]
    for answer in (channel, device, [channel], [device]):
        model = kepware.parse(json.dumps(answer).encode(), "answer.json")
        assert model.tags and kepware.check("answer.json", model) == []
    device_model = kepware.parse(json.dumps(device).encode(), "device.json")
    assert device_model.elements["Device1"].kind == "device"
