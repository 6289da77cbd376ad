//! Linux IO edge: raw VRRP sockets, rtnetlink, GARP and unsolicited NA.
