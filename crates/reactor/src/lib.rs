//! tulipa's reactor (being written).
