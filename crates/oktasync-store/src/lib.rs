//! oktasync-store
