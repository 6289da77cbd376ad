//! Sans-IO VRRPv2/v3 protocol core: packet codec, state machine, timers, effective priority
