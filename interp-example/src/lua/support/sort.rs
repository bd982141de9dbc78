//! `table.sort` with Lua 5.4's exact algorithm.
//!
//! # What
//!
//! [`sort`] sorts positions `1..=n` of a table through the [`SortTable`]
//! trait (the VM's `lua_geti`, `lua_seti` and comparison).  It performs the
//! very same sequence of reads, writes and comparisons as lua5.4's
//! `auxsort`/`partition`: median-of-three on `lo`, middle and `up`, the pivot
//! parked at `up - 1`, Sedgewick-style partitioning of `lo+1 .. up-2`,
//! recursion into the smaller half and iteration on the larger one.
//!
//! # Why this approach
//!
//! Quicksort is not stable, so which of several equal elements ends where
//! depends on every detail of the algorithm; with an inconsistent comparator
//! (or one that raises an error midway) even the set of calls made is
//! observable, and so is when "invalid order function for sorting" is
//! raised.  Reproducing lua5.4 byte for byte therefore means transcribing the
//! algorithm step for step, including which cached value is written where.
//! Values are cached exactly where Lua keeps them on its stack (e.g. the
//! pivot is read once per partition), so `__index`/`__newindex` metamethods
//! also see the same calls.
//!
//! Pivot randomization: for partitions that turn out badly imbalanced
//! (`(up - lo) / 128 > smaller part`, only possible for ranges longer than
//! 128 elements) Lua switches to a pivot chosen in the middle half using a
//! "random" number made from `clock()` and `time()`.  That value is
//! inherently irreproducible; here it comes from
//! [`SortTable::randomize_pivot`], whose default sums the halves of the
//! current Unix time in seconds and nanoseconds.  Results differ from lua5.4
//! only for such adversarial inputs with ties or inconsistent comparators.

/// Arrays below this size never use randomized pivots (Lua's `RANLIMIT`).
pub const RANLIMIT: u32 = 100;

/// What `table.sort` needs from the VM.
pub trait SortTable {
    /// A Lua value (cheap to clone).
    type Value: Clone;
    /// The VM's error type (comparator errors, metamethod errors).
    type Error;
    /// `lua_geti(t, i)` (may invoke `__index`).
    fn get(&mut self, i: u32) -> Result<Self::Value, Self::Error>;
    /// `lua_seti(t, i, v)` (may invoke `__newindex`).
    fn set(&mut self, i: u32, v: Self::Value) -> Result<(), Self::Error>;
    /// `a < b` under the sort order: the comparator's result converted to a
    /// boolean, or the `<` operator (with its metamethods and errors).
    fn less(&mut self, a: &Self::Value, b: &Self::Value) -> Result<bool, Self::Error>;
    /// A "random" number for pivot choice after a badly imbalanced partition
    /// (Lua uses `clock()` and `time()`).
    fn randomize_pivot(&mut self) -> u32 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let s = d.as_secs();
        (s as u32)
            .wrapping_add((s >> 32) as u32)
            .wrapping_add(d.subsec_nanos())
    }
}

/// Errors of [`sort`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortError<E> {
    /// `luaL_error` "invalid order function for sorting".
    InvalidOrder,
    /// "bad argument #1 to 'sort' (array too big)" (n >= INT_MAX).
    ArrayTooBig,
    /// An error raised by the VM (comparator, metamethod).
    Vm(E),
}

impl<E> SortError<E> {
    /// Lua's message for the non-VM errors ("bad argument ..." uses
    /// `fname`, normally "sort").
    pub fn message(&self, fname: &str) -> Option<String> {
        match self {
            SortError::InvalidOrder => Some("invalid order function for sorting".into()),
            SortError::ArrayTooBig => Some(format!("bad argument #1 to '{fname}' (array too big)")),
            SortError::Vm(_) => None,
        }
    }
}

impl<E> From<E> for SortError<E> {
    fn from(e: E) -> Self {
        SortError::Vm(e)
    }
}

/// `table.sort(t [, comp])` for a table whose length (`#t`, with `__len`)
/// is `n`.  The VM checks that `comp` is a function or nil beforehand.
pub fn sort<T: SortTable>(t: &mut T, n: i64) -> Result<(), SortError<T::Error>> {
    if n > 1 {
        if n >= i32::MAX as i64 {
            return Err(SortError::ArrayTooBig);
        }
        auxsort(t, 1, n as u32, 0)?;
    }
    Ok(())
}

fn choose_pivot(lo: u32, up: u32, rnd: u32) -> u32 {
    let r4 = (up - lo) / 4;
    rnd % (r4 * 2) + (lo + r4)
}

fn auxsort<T: SortTable>(
    t: &mut T,
    mut lo: u32,
    mut up: u32,
    mut rnd: u32,
) -> Result<(), SortError<T::Error>> {
    while lo < up {
        // Order a[lo] and a[up].
        let a_lo = t.get(lo)?;
        let a_up = t.get(up)?;
        if t.less(&a_up, &a_lo)? {
            t.set(lo, a_up)?;
            t.set(up, a_lo)?;
        }
        if up - lo == 1 {
            return Ok(());
        }
        let mut p = if up - lo < RANLIMIT || rnd == 0 {
            lo + (up - lo) / 2
        } else {
            choose_pivot(lo, up, rnd)
        };
        // Median of three.
        let a_p = t.get(p)?;
        let a_lo = t.get(lo)?;
        if t.less(&a_p, &a_lo)? {
            t.set(p, a_lo)?;
            t.set(lo, a_p)?;
        } else {
            let a_up = t.get(up)?;
            if t.less(&a_up, &a_p)? {
                t.set(p, a_up)?;
                t.set(up, a_p)?;
            }
        }
        if up - lo == 2 {
            return Ok(());
        }
        // Park the pivot at up - 1.
        let pivot = t.get(p)?;
        let a_up1 = t.get(up - 1)?;
        t.set(p, a_up1)?;
        t.set(up - 1, pivot.clone())?;
        p = partition(t, lo, up, &pivot)?;
        let n;
        if p - lo < up - p {
            auxsort(t, lo, p - 1, rnd)?;
            n = p - lo;
            lo = p + 1;
        } else {
            auxsort(t, p + 1, up, rnd)?;
            n = up - p;
            up = p - 1;
        }
        if up.wrapping_sub(lo) / 128 > n {
            rnd = t.randomize_pivot();
        }
    }
    Ok(())
}

/// Partitions `lo+1 ..= up-2` around `pivot` (which sits at `up - 1`);
/// returns the pivot's final index.
fn partition<T: SortTable>(
    t: &mut T,
    lo: u32,
    up: u32,
    pivot: &T::Value,
) -> Result<u32, SortError<T::Error>> {
    let mut i = lo;
    let mut j = up - 1;
    loop {
        let a_i = loop {
            i += 1;
            let v = t.get(i)?;
            if !t.less(&v, pivot)? {
                break v;
            }
            if i == up - 1 {
                return Err(SortError::InvalidOrder);
            }
        };
        let a_j = loop {
            j = j.checked_sub(1).ok_or(SortError::InvalidOrder)?;
            let v = t.get(j)?;
            if !t.less(pivot, &v)? {
                break v;
            }
            if j < i {
                return Err(SortError::InvalidOrder);
            }
        };
        if j < i {
            t.set(up - 1, a_i)?;
            t.set(i, pivot.clone())?;
            return Ok(i);
        }
        t.set(i, a_j)?;
        t.set(j, a_i)?;
    }
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod tests;
