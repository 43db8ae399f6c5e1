//! tulipa (being written).
