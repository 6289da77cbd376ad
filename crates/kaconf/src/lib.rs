//! Parser and model for keepalived's configuration dialect (the subset vrrpd implements)
