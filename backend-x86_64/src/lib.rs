//! backend (in construction)
