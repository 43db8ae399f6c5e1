//! A hierarchical timing wheel: O(1) insert and cancel, amortised O(1) expiry.
//!
//! This module is a pure data structure. It has no clock, no locks and no
//! wakers: deadlines and "now" are plain `u64` *ticks* chosen by the caller
//! (the [`TimerDriver`](crate::TimerDriver) uses milliseconds since its
//! clock's start).
//!
//! # Layout
//!
//! ```text
//!  level 5  [ 64 slots of 2^30 ticks ]   (~12.4 days each at 1 ms/tick)
//!  level 4  [ 64 slots of 2^24 ticks ]   (~4.7 hours)
//!  level 3  [ 64 slots of 2^18 ticks ]   (~4.4 minutes)
//!  level 2  [ 64 slots of 2^12 ticks ]   (~4.1 seconds)
//!  level 1  [ 64 slots of 2^6  ticks ]   (64 ms)
//!  level 0  [ 64 slots of 1    tick  ]   (1 ms)
//!  overflow  one unsorted list for deadlines 2^36 ticks (~2.2 years) or more away
//!  due       one FIFO list for deadlines that were already in the past when inserted
//! ```
//!
//! The wheel keeps a cursor `E`, the earliest tick that has not been fired
//! yet. An entry with deadline `d >= E` lives on the level of the highest
//! 6-bit group in which `d` and `E` differ, in the slot numbered by `d`'s
//! digit in that group. So level 0 holds the deadlines in `E`'s own 64-tick
//! block (one deadline per slot), level 1 the deadlines in later 64-tick
//! blocks of `E`'s 4096-tick block, and so on. Every entry on level `l`
//! is earlier than every entry on level `l + 1`, and on a level the slots
//! at or after `E`'s digit are in deadline order: the earliest entry is in
//! the lowest occupied slot of the lowest occupied level, found with one
//! `trailing_zeros` on a 64-bit occupancy mask per level.
//!
//! # Cascading
//!
//! When `E` reaches the start of a slot on level `l >= 1` (or of the block
//! of the earliest overflow entry), that slot's list is detached and each of
//! its entries is re-filed relative to the new `E`, landing on a lower
//! level. An entry is therefore moved at most once per level (six times in
//! total) between insert and expiry, which is what makes expiry amortised
//! O(1). Level-0 slots are fired, not cascaded. Re-filing walks a list in
//! order and appends, so entries with equal deadlines keep insertion order:
//! equal deadlines always share one list.
//!
//! # Why insert and cancel are O(1)
//!
//! Entries live in a slab (`Vec` plus a free list) and every list is an
//! intrusive doubly linked list threaded through the slab by `u32` index.
//! Inserting computes the level with one `leading_zeros` and appends to a
//! list; removing unlinks by index and pushes the slot on the free list.
//! A [`Key`] carries a generation, so a key whose entry already fired or was
//! removed is recognised as stale and never touches a newer entry that
//! reuses the slot. No `unsafe` is needed.
//!
//! # Memory
//!
//! Each entry costs `size_of::<Option<T>>()` plus 24 bytes of bookkeeping
//! (deadline, two links, generation, list number), rounded up to the
//! alignment: **40 bytes per entry for a [`Waker`](std::task::Waker)** (or a
//! `u64`),
//! so 1,000,000 pending timers take about 40 MB (up to twice that while the
//! slab's `Vec` has spare capacity after growing). The fixed part of the
//! wheel is about 3 KiB of list heads.
//!
//! # Limits
//!
//! Ticks are clamped to [`MAX_TICK`]. A wheel holds at most `u32::MAX - 1`
//! entries. Overflow entries are re-examined once each time the cursor
//! reaches the 2^36-tick block of the earliest of them, so many timers more
//! than two years apart in distinct blocks cost more than O(1) each.
//!
//! # Examples
//!
//! ```
//! use tulipa_timer::wheel::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let a = wheel.insert(30, "a");
//! wheel.insert(10, "b");
//! wheel.insert(10, "c");
//! assert_eq!(wheel.remove(a), Some("a"));
//! assert_eq!(wheel.next_deadline(), Some(10));
//!
//! let mut fired = Vec::new();
//! wheel.advance(100, |_key, value| fired.push(value));
//! assert_eq!(fired, ["b", "c"]);
//! assert!(wheel.is_empty());
//! ```

use std::fmt;

/// Bits of the tick consumed by one level.
const LEVEL_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// Number of levels before the overflow list.
const LEVELS: usize = 6;
/// Ticks covered by all the levels together (2^36).
const WHEEL_BITS: u32 = LEVEL_BITS * LEVELS as u32;
/// Lists: `LEVELS * SLOTS` slots, then the overflow list, then the due list.
const OVERFLOW: u16 = (LEVELS * SLOTS) as u16;
const DUE: u16 = OVERFLOW + 1;
const LISTS: usize = DUE as usize + 1;
/// Marks "no entry" in links and "not in any list" on free entries.
const NIL: u32 = u32::MAX;
const FREE: u16 = u16::MAX;

/// The largest tick the wheel distinguishes; larger deadlines and `now`s
/// are clamped to it.
pub const MAX_TICK: u64 = u64::MAX - 1;

/// Identifies an entry of a [`Wheel`], returned by [`Wheel::insert`].
///
/// A key stays harmless after its entry fired or was removed: using it
/// again finds nothing, even if the storage was reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    index: u32,
    generation: u32,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}v{})", self.index, self.generation)
    }
}

struct Node<T> {
    value: Option<T>,
    deadline: u64,
    prev: u32,
    /// Next in the node's list, or next free node when the node is free.
    next: u32,
    generation: u32,
    list: u16,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

/// A hierarchical timing wheel holding values of type `T` until their
/// deadline tick. See the [module docs](self) for the design.
pub struct Wheel<T> {
    nodes: Vec<Node<T>>,
    free_head: u32,
    len: usize,
    lists: [List; LISTS],
    /// Bit `s` of `occupied[l]` is set when slot `s` of level `l` is not empty.
    occupied: [u64; LEVELS],
    /// The earliest tick not fired yet: every entry outside the due list
    /// has a deadline `>= cursor`.
    cursor: u64,
    /// The smallest deadline in the overflow list, if `overflow_min_valid`.
    overflow_min: u64,
    overflow_min_valid: bool,
}

/// Where the next thing to do is.
#[derive(Clone, Copy)]
struct Next {
    list: u16,
    /// The first tick the list may hold.
    start: u64,
}

impl<T> Wheel<T> {
    /// Creates an empty wheel whose time starts at tick 0.
    pub fn new() -> Wheel<T> {
        Wheel::with_capacity(0)
    }

    /// Creates an empty wheel with room for `capacity` entries before it
    /// reallocates.
    pub fn with_capacity(capacity: usize) -> Wheel<T> {
        Wheel {
            nodes: Vec::with_capacity(capacity),
            free_head: NIL,
            len: 0,
            lists: [EMPTY; LISTS],
            occupied: [0; LEVELS],
            cursor: 0,
            overflow_min: u64::MAX,
            overflow_min_valid: true,
        }
    }

    /// The number of entries in the wheel.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the wheel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The earliest tick that has not been fired yet (one past the largest
    /// `now` passed to [`poll_expired`](Wheel::poll_expired) that drained
    /// everything due).
    pub fn elapsed(&self) -> u64 {
        self.cursor
    }

    /// Inserts `value` to fire at `deadline`. O(1).
    ///
    /// A deadline before [`elapsed`](Wheel::elapsed) (already in the past)
    /// is due at once: the entry fires on the next poll, after entries
    /// already due, as if its deadline were `elapsed() - 1`.
    ///
    /// # Panics
    ///
    /// Panics if the wheel already holds `u32::MAX - 1` entries.
    pub fn insert(&mut self, deadline: u64, value: T) -> Key {
        let deadline = deadline.min(MAX_TICK);
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let node = &mut self.nodes[index as usize];
            self.free_head = node.next;
            node.value = Some(value);
            node.deadline = deadline;
            index
        } else {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("a timing wheel holds at most u32::MAX - 1 entries");
            self.nodes.push(Node {
                value: Some(value),
                deadline,
                prev: NIL,
                next: NIL,
                generation: 0,
                list: FREE,
            });
            index
        };
        self.len += 1;
        self.file(index);
        Key {
            index,
            generation: self.nodes[index as usize].generation,
        }
    }

    /// Removes the entry for `key` and returns its value, or `None` if it
    /// already fired or was removed. O(1); frees the entry's storage.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        self.lookup(key)?;
        self.unlink(key.index);
        Some(self.release(key.index))
    }

    /// The value of a pending entry, or `None` if `key` is stale.
    pub fn get(&self, key: Key) -> Option<&T> {
        let index = self.lookup(key)?;
        self.nodes[index].value.as_ref()
    }

    /// The value of a pending entry, mutably, or `None` if `key` is stale.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let index = self.lookup(key)?;
        self.nodes[index].value.as_mut()
    }

    /// The deadline a pending entry was inserted with (clamped to
    /// [`MAX_TICK`]), or `None` if `key` is stale.
    pub fn deadline(&self, key: Key) -> Option<u64> {
        let index = self.lookup(key)?;
        Some(self.nodes[index].deadline)
    }

    /// The exact earliest deadline of the pending entries, or `None` if the
    /// wheel is empty. Entries inserted in the past report
    /// `elapsed() - 1`.
    ///
    /// O(1) when the earliest entry is on level 0; otherwise this scans the
    /// one slot (or the overflow list) that holds it. A driver deciding how
    /// long to sleep should prefer [`next_wakeup`](Wheel::next_wakeup).
    pub fn next_deadline(&self) -> Option<u64> {
        let next = self.next()?;
        match next.list {
            DUE => Some(self.cursor.saturating_sub(1)),
            l if l < SLOTS as u16 => Some(next.start),
            OVERFLOW => Some(self.overflow_min()),
            list => self.iter_list(list).map(|i| self.nodes[i].deadline).min(),
        }
    }

    /// A lower bound of [`next_deadline`](Wheel::next_deadline) computed in
    /// O(1): the earliest tick at which [`poll_expired`](Wheel::poll_expired)
    /// has work to do (fire an entry or cascade a slot). Sleeping until this
    /// tick never oversleeps a deadline; it may wake up to five times early
    /// on the way to a far deadline, once per level cascaded.
    pub fn next_wakeup(&self) -> Option<u64> {
        let next = self.next()?;
        match next.list {
            DUE => Some(self.cursor.saturating_sub(1)),
            _ => Some(next.start),
        }
    }

    /// Removes and returns one entry whose deadline is `<= now`, or `None`
    /// once there is none left (then [`elapsed`](Wheel::elapsed) becomes
    /// `now + 1`). Entries come out in deadline order, equal deadlines in
    /// insertion order. Call it until it returns `None`.
    ///
    /// `now` never moves the wheel backwards: a `now` below `elapsed() - 1`
    /// fires only the entries that were inserted in the past.
    pub fn poll_expired(&mut self, now: u64) -> Option<(Key, T)> {
        let now = now.min(MAX_TICK);
        let target = now + 1;
        // Entries inserted in the past go first: they are all earlier than
        // anything filed on the levels.
        if let Some(index) = self.pop_front(DUE) {
            return Some(self.fire(index));
        }
        while let Some(next) = self.next() {
            let is_level0 = next.list < SLOTS as u16;
            // Level-0 slots fire when their tick is `<= now`; other lists
            // are cascaded as soon as their start is `<= now + 1`, which
            // keeps every entry filed correctly once the cursor moves to
            // `now + 1` below.
            if next.start > target || (is_level0 && next.start > now) {
                break;
            }
            self.cursor = self.cursor.max(next.start);
            if is_level0 {
                if let Some(index) = self.pop_front(next.list) {
                    return Some(self.fire(index));
                }
                // Unreachable: an occupied bit is set only for a non-empty
                // slot. Clear it rather than spin.
                debug_assert!(false, "occupied level-0 slot is empty");
                self.occupied[0] &= !(1 << (next.list as usize % SLOTS));
                continue;
            }
            self.cascade(next.list);
        }
        self.cursor = self.cursor.max(target);
        None
    }

    /// Fires every entry whose deadline is `<= now`, calling `f` with each
    /// in deadline order (equal deadlines in insertion order). Returns how
    /// many fired.
    pub fn advance(&mut self, now: u64, mut f: impl FnMut(Key, T)) -> usize {
        let mut fired = 0;
        while let Some((key, value)) = self.poll_expired(now) {
            f(key, value);
            fired += 1;
        }
        fired
    }

    /// Removes every entry, keeping the wheel's time.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.free_head = NIL;
        self.len = 0;
        self.lists = [EMPTY; LISTS];
        self.occupied = [0; LEVELS];
        self.overflow_min = u64::MAX;
        self.overflow_min_valid = true;
    }

    // ----- internals -----

    fn lookup(&self, key: Key) -> Option<usize> {
        let index = key.index as usize;
        let node = self.nodes.get(index)?;
        (node.generation == key.generation && node.list != FREE).then_some(index)
    }

    /// The list holding the earliest entries, and the first tick it may hold.
    fn next(&self) -> Option<Next> {
        if self.len == 0 {
            return None;
        }
        if self.lists[DUE as usize].head != NIL {
            return Some(Next {
                list: DUE,
                start: self.cursor.saturating_sub(1),
            });
        }
        for level in 0..LEVELS {
            let shift = LEVEL_BITS * level as u32;
            let digit = (self.cursor >> shift) as usize % SLOTS;
            let pending = self.occupied[level] & (u64::MAX << digit);
            if pending != 0 {
                let slot = pending.trailing_zeros() as u64;
                let block = block_start(self.cursor, shift + LEVEL_BITS);
                return Some(Next {
                    list: (level * SLOTS) as u16 + slot as u16,
                    start: block + (slot << shift),
                });
            }
        }
        if self.lists[OVERFLOW as usize].head != NIL {
            return Some(Next {
                list: OVERFLOW,
                start: block_start(self.overflow_min(), WHEEL_BITS),
            });
        }
        None
    }

    fn overflow_min(&self) -> u64 {
        if self.overflow_min_valid {
            self.overflow_min
        } else {
            self.iter_list(OVERFLOW)
                .map(|i| self.nodes[i].deadline)
                .min()
                .unwrap_or(u64::MAX)
        }
    }

    fn iter_list(&self, list: u16) -> impl Iterator<Item = usize> + '_ {
        let mut cur = self.lists[list as usize].head;
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let index = cur as usize;
            cur = self.nodes[index].next;
            Some(index)
        })
    }

    /// Chooses the list for a linked-out node from its deadline and the
    /// cursor, and appends it there.
    fn file(&mut self, index: u32) {
        let deadline = self.nodes[index as usize].deadline;
        let list = if deadline < self.cursor {
            DUE
        } else {
            let diff = deadline ^ self.cursor;
            let level = if diff == 0 {
                0
            } else {
                (63 - diff.leading_zeros()) / LEVEL_BITS
            };
            if level as usize >= LEVELS {
                if self.overflow_min_valid {
                    self.overflow_min = self.overflow_min.min(deadline);
                }
                OVERFLOW
            } else {
                let slot = (deadline >> (LEVEL_BITS * level)) as usize % SLOTS;
                self.occupied[level as usize] |= 1 << slot;
                (level as usize * SLOTS + slot) as u16
            }
        };
        self.push_back(list, index);
    }

    fn push_back(&mut self, list: u16, index: u32) {
        let tail = self.lists[list as usize].tail;
        {
            let node = &mut self.nodes[index as usize];
            node.list = list;
            node.prev = tail;
            node.next = NIL;
        }
        if tail == NIL {
            self.lists[list as usize].head = index;
        } else {
            self.nodes[tail as usize].next = index;
        }
        self.lists[list as usize].tail = index;
    }

    fn pop_front(&mut self, list: u16) -> Option<u32> {
        let head = self.lists[list as usize].head;
        if head == NIL {
            return None;
        }
        self.unlink(head);
        Some(head)
    }

    /// Takes a node out of its list, leaving it allocated.
    fn unlink(&mut self, index: u32) {
        let (list, prev, next, deadline) = {
            let node = &self.nodes[index as usize];
            (node.list, node.prev, node.next, node.deadline)
        };
        if prev == NIL {
            self.lists[list as usize].head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list as usize].tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        if list < OVERFLOW {
            if self.lists[list as usize].head == NIL {
                let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
                self.occupied[level] &= !(1 << slot);
            }
        } else if list == OVERFLOW && self.overflow_min_valid && deadline == self.overflow_min {
            self.overflow_min_valid = self.lists[OVERFLOW as usize].head == NIL;
            if self.overflow_min_valid {
                self.overflow_min = u64::MAX;
            }
        }
        let node = &mut self.nodes[index as usize];
        node.list = FREE;
        node.prev = NIL;
        node.next = NIL;
    }

    /// Frees an unlinked node and returns its value.
    fn release(&mut self, index: u32) -> T {
        let node = &mut self.nodes[index as usize];
        let value = node.value.take().expect("released a free node");
        node.generation = node.generation.wrapping_add(1);
        node.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
        value
    }

    fn fire(&mut self, index: u32) -> (Key, T) {
        let key = Key {
            index,
            generation: self.nodes[index as usize].generation,
        };
        (key, self.release(index))
    }

    /// Detaches a list and re-files its nodes, in order, relative to the
    /// (already moved) cursor.
    fn cascade(&mut self, list: u16) {
        let mut cur = self.lists[list as usize].head;
        self.lists[list as usize] = EMPTY;
        if list < OVERFLOW {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] &= !(1 << slot);
        } else {
            self.overflow_min = u64::MAX;
            self.overflow_min_valid = true;
        }
        while cur != NIL {
            let next = self.nodes[cur as usize].next;
            self.file(cur);
            cur = next;
        }
    }
}

/// `tick` with its low `bits` bits cleared.
fn block_start(tick: u64, bits: u32) -> u64 {
    if bits >= 64 {
        0
    } else {
        tick & !((1u64 << bits) - 1)
    }
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Wheel::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len)
            .field("elapsed", &self.cursor)
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figure the module docs quote.
    #[test]
    fn forty_bytes_per_waker_entry() {
        assert_eq!(std::mem::size_of::<Node<std::task::Waker>>(), 40);
        assert_eq!(std::mem::size_of::<Node<u64>>(), 40);
    }
}
