//! tulipa's executor (being written).
