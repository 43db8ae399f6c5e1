//! tulipa's timer (being written).
