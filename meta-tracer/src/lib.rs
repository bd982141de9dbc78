//! meta-tracer (in construction)
