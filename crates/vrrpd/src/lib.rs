//! vrrpd: the VRRP worker daemon, Linux IO edge around the vrrp core
