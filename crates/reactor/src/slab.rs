//! A minimal slab: a `Vec` of slots with a free list, so keys are small,
//! dense and reused.
//!
//! The reactor keeps two kinds of slab: one of registered sources (the slot
//! index is the low half of the key handed to the OS poller) and, per source
//! and direction, one of waiting tasks' wakers (the slot index is what a
//! waiting future remembers so it can update or remove its waker in O(1)).
//! The `slab` crate would do, but this is forty lines and keeps the reactor's
//! dependencies to the ones the design names.

/// One slot: a value, or a link in the free list.
enum Entry<T> {
    Occupied(T),
    /// A free slot; holds the index of the next free slot (`usize::MAX` ends
    /// the list).
    Vacant(usize),
}

/// A slab of `T` values addressed by reused `usize` keys.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Head of the free list, `usize::MAX` if there is no free slot.
    next_free: usize,
    len: usize,
}

impl<T> Slab<T> {
    /// Creates an empty slab; allocates nothing.
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            entries: Vec::new(),
            next_free: usize::MAX,
            len: 0,
        }
    }

    /// Number of occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The key the next [`insert`](Slab::insert) will return.
    pub(crate) fn vacant_key(&self) -> usize {
        if self.next_free == usize::MAX {
            self.entries.len()
        } else {
            self.next_free
        }
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let key = self.vacant_key();
        if key == self.entries.len() {
            self.entries.push(Entry::Occupied(value));
        } else {
            match std::mem::replace(&mut self.entries[key], Entry::Occupied(value)) {
                Entry::Vacant(next) => self.next_free = next,
                Entry::Occupied(_) => unreachable!("the free list points at an occupied slot"),
            }
        }
        self.len += 1;
        key
    }

    /// The value at `key`, if the slot is occupied.
    pub(crate) fn get(&self, key: usize) -> Option<&T> {
        match self.entries.get(key) {
            Some(Entry::Occupied(v)) => Some(v),
            _ => None,
        }
    }

    /// The value at `key`, mutably, if the slot is occupied.
    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Occupied(v)) => Some(v),
            _ => None,
        }
    }

    /// Removes and returns the value at `key`; `None` (and no change) if the
    /// slot is already free.
    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let slot = self.entries.get_mut(key)?;
        if let Entry::Vacant(_) = slot {
            return None;
        }
        match std::mem::replace(slot, Entry::Vacant(self.next_free)) {
            Entry::Occupied(v) => {
                self.next_free = key;
                self.len -= 1;
                Some(v)
            }
            Entry::Vacant(_) => unreachable!("checked above"),
        }
    }

    /// Iterates over the occupied values, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.entries.iter_mut().filter_map(|e| match e {
            Entry::Occupied(v) => Some(v),
            Entry::Vacant(_) => None,
        })
    }

    /// Iterates over the occupied values.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Entry::Occupied(v) => Some(v),
            Entry::Vacant(_) => None,
        })
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn keys_are_reused_lifo() {
        let mut s = Slab::new();
        let a = s.insert('a');
        let b = s.insert('b');
        let c = s.insert('c');
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(s.remove(b), Some('b'));
        assert_eq!(s.remove(b), None);
        assert_eq!(s.remove(a), Some('a'));
        assert_eq!(s.len(), 1);
        assert_eq!(s.vacant_key(), a);
        assert_eq!(s.insert('x'), a);
        assert_eq!(s.insert('y'), b);
        assert_eq!(s.insert('z'), 3);
        assert_eq!(s.get(c), Some(&'c'));
        assert_eq!(s.iter().count(), 4);
        *s.get_mut(3).unwrap() = 'w';
        assert_eq!(s.iter_mut().map(|v| *v).collect::<String>(), "xycw");
    }
}
