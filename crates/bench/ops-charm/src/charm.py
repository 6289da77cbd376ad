#!/usr/bin/env python3
"""A minimal Python `ops` charm for the hook-cost comparison (crates/bench/src/hookcost.rs).

On update-status and config-changed it does the reads our dispatcher does in a steady hook and
the same status write: config, the own bags of the published relations and the peers' bags,
the host's interfaces and routes (read in-process, like our netlink dump), the worker's state
file, `systemctl is-active`, a TLS handshake with the local load balancer (reading the served
certificate), then `status-set active "VIP ready (ROLE)"`. It renders and writes nothing, so it
does less than our dispatcher.
"""
import json
import os
import socket
import ssl
import subprocess

import ops


class KeepalivedOps(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        framework.observe(self.on.update_status, self._reconcile)
        framework.observe(self.on.config_changed, self._reconcile)

    def _reconcile(self, _event):
        cfg = dict(self.config)
        bags = {}
        for endpoint in ("loadbalancer", "website", "peers"):
            for rel in self.model.relations[endpoint]:
                bags[rel.id] = dict(rel.data[self.unit])
                for unit in rel.units:
                    bags[(rel.id, unit.name)] = dict(rel.data[unit])
        interfaces = socket.if_nameindex()
        with open("/proc/net/route") as f:
            routes = f.read()
        with open("/proc/net/if_inet6") as f:
            routes += f.read()
        root = os.environ.get("KEEPALIVED_CHARM_ROOT", "/")
        try:
            with open(os.path.join(root, "run/vrrpd/state.json")) as f:
                state = json.load(f)
        except (OSError, ValueError):
            state = None
        active = subprocess.run(["systemctl", "is-active", "--quiet", "vrrpd.service"]).returncode == 0
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        der = b""
        try:
            port = int(cfg.get("port", 443))
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with ctx.wrap_socket(raw, server_hostname=cfg.get("vip_hostname") or None) as tls:
                    der = tls.getpeercert(binary_form=True) or b""
        except OSError:
            pass
        role = "worker starting"
        if state and state.get("instances"):
            role = state["instances"][0].get("role", role)
        if not (active and der and interfaces and routes is not None and bags is not None):
            role += "?"
        self.unit.status = ops.ActiveStatus(f"VIP ready ({role})")


if __name__ == "__main__":
    ops.main(KeepalivedOps)
