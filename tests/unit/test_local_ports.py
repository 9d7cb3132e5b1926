"""The local infra's ports: chosen where no outgoing connection can take them first."""

from __future__ import annotations

import socket

import pytest

from deploy.local.process import EPHEMERAL, HOST, LOWEST_PORT, free_port


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_bound():
    try:
        below = int(EPHEMERAL.read_text().split()[0])
    except OSError:
        pytest.skip("no /proc ephemeral port range here")
    ports = {free_port() for _ in range(20)}
    assert all(LOWEST_PORT <= p < below for p in ports), sorted(ports)
    for port in ports:
        with socket.socket() as s:
            s.bind((HOST, port))  # nothing listens there
