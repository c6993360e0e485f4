"""Ports for a stack's processes, asked of the kernel together."""

from __future__ import annotations

from tenure_tools.stack import free_ports, port_is_free


def test_free_ports_are_distinct_and_free():
    ports = free_ports(64)
    assert len(set(ports)) == 64
    assert all(port_is_free(port) for port in ports)
