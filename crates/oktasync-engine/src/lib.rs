//! oktasync-engine
