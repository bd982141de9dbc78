//! stm-core (in construction)
