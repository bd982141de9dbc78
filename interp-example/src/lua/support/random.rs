//! `math.random` / `math.randomseed` exactly as Lua 5.4.
//!
//! # What
//!
//! [`LuaRng`] is Lua 5.4's generator: xoshiro256** over four 64-bit words.
//! Seeding with integers `(n1, n2)` sets the state to `{n1, 0xff, n2, 0}` and
//! discards 16 outputs.  `math.random()` takes the top 53 bits of one output
//! as a float in [0, 1); `math.random(m, n)` "projects" one output into
//! `[0, n - m]` by masking with the smallest `2^b - 1 >= n - m` and drawing
//! again while the masked value is too large; `math.random(0)` returns all
//! 64 bits as an integer.
//!
//! Lua 5.4 specifics the VM must mirror:
//! * `math.random` draws one value *before* checking its arguments, so
//!   even a call that fails with "interval is empty" advances the state
//!   ([`LuaRng::random`] does the same).
//! * `math.randomseed(x [, y])` converts with `luaL_checkinteger` (a float
//!   with an exact integer value is accepted, `1.5` raises "number has no
//!   integer representation"); `y` defaults to 0; it returns the two seeds.
//! * `math.randomseed()` with no argument (and the initial state when the
//!   library opens) seeds with `(time(NULL), address of the lua_State)` and
//!   returns those two integers, e.g. `1795323579  94831851913896`; the VM
//!   may use any clock/entropy value for the second number.
//!
//! # Why this approach
//!
//! Matching lua5.4's sequences bit for bit only requires reproducing these
//! few integer operations literally; everything is wrapping `u64` arithmetic.

/// Lua 5.4's pseudo-random generator state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuaRng {
    s: [u64; 4],
}

/// Result of [`LuaRng::random`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RandomValue {
    Float(f64),
    Int(i64),
}

/// Errors of [`LuaRng::random`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RandomError {
    /// "bad argument #1 to 'random' (interval is empty)".
    IntervalEmpty,
    /// "wrong number of arguments" (a plain error, not an argument error).
    WrongArgCount,
}

impl RandomError {
    /// The message part: "interval is empty" (to wrap as argument #1 error)
    /// or "wrong number of arguments".
    pub fn message(&self) -> &'static str {
        match self {
            RandomError::IntervalEmpty => "interval is empty",
            RandomError::WrongArgCount => "wrong number of arguments",
        }
    }
}

impl LuaRng {
    /// A generator seeded as `math.randomseed(n1, n2)`.
    pub fn new(n1: i64, n2: i64) -> Self {
        let mut r = LuaRng { s: [0; 4] };
        r.seed(n1, n2);
        r
    }

    /// `math.randomseed(n1, n2)`; returns the two values randomseed returns.
    pub fn seed(&mut self, n1: i64, n2: i64) -> (i64, i64) {
        self.s = [n1 as u64, 0xff, n2 as u64, 0];
        for _ in 0..16 {
            self.next_raw();
        }
        (n1, n2)
    }

    /// One raw xoshiro256** output.
    pub fn next_raw(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.s;
        let res = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        self.s = [s0 ^ s3, s1 ^ s2, s2 ^ (s1 << 17), s3.rotate_left(45)];
        res
    }

    /// Converts a raw output to a float in [0, 1) (top 53 bits).
    pub fn raw_to_float(rv: u64) -> f64 {
        (rv >> 11) as f64 * (0.5f64).powi(53)
    }

    /// Projects raw output `ran` into `[0, n]`, drawing more outputs as
    /// needed (Lua's `project`).
    pub fn project(&mut self, ran: u64, n: u64) -> u64 {
        if n & n.wrapping_add(1) == 0 {
            return ran & n;
        }
        let mut lim = n;
        lim |= lim >> 1;
        lim |= lim >> 2;
        lim |= lim >> 4;
        lim |= lim >> 8;
        lim |= lim >> 16;
        lim |= lim >> 32;
        let mut ran = ran & lim;
        while ran > n {
            ran = self.next_raw() & lim;
        }
        ran
    }

    /// `math.random()`.
    pub fn random_float(&mut self) -> f64 {
        Self::raw_to_float(self.next_raw())
    }

    /// `math.random(low, up)`.
    pub fn random_range(&mut self, low: i64, up: i64) -> Result<i64, RandomError> {
        let rv = self.next_raw();
        self.range_from(rv, low, up)
    }

    fn range_from(&mut self, rv: u64, low: i64, up: i64) -> Result<i64, RandomError> {
        if low > up {
            return Err(RandomError::IntervalEmpty);
        }
        let p = self.project(rv, (up as u64).wrapping_sub(low as u64));
        Ok(p.wrapping_add(low as u64) as i64)
    }

    /// `math.random(...)` with its (already integer-converted) arguments:
    /// `[]` gives a float, `[0]` a full 64-bit integer, `[m]` an integer in
    /// `[1, m]`, `[m, n]` an integer in `[m, n]`.  One value is always drawn
    /// first, as in Lua, even when the call then fails.
    pub fn random(&mut self, args: &[i64]) -> Result<RandomValue, RandomError> {
        let rv = self.next_raw();
        match *args {
            [] => Ok(RandomValue::Float(Self::raw_to_float(rv))),
            [0] => Ok(RandomValue::Int(rv as i64)),
            [up] => self.range_from(rv, 1, up).map(RandomValue::Int),
            [low, up] => self.range_from(rv, low, up).map(RandomValue::Int),
            _ => Err(RandomError::WrongArgCount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::number::{str_to_number, Number};
    use super::*;

    /// Sequences recorded from lua5.4: after `math.randomseed(seed, seed2)`:
    /// random(), random(1,100), random(10), random(0), random(-5,5),
    /// random(minint,maxint), random(3,3), random(1,6), random(1000000007),
    /// random(0,2^62), random(-2^62,2^62), random().
    const CASES: &[(i64, i64, &str)] = &[
        (0, 0, "0x1.f9acea71bda18p-3 9 6 8746992150480317615 2 -1257568013161375688 3 1 344765750 3760998950794155079 -189193366461880413 0x1.333af94c9446fp-1"),
        (0, 5, "0x1.0ef80b305181p-5 66 9 4649291491432023259 4 3450132872586972012 3 5 969810964 1628991110059433716 -908770713183426143 0x1.dbf25d8254557p-1"),
        (1, 0, "0x1.a194b9e595371p-1 34 8 -7529773041964062036 1 -6372468156228956195 3 4 166756991 598410319343431901 -81334858508867305 0x1.553983e6e2d7ap-2"),
        (1, 5, "0x1.7b4d0001f89acp-1 32 2 -546272917942434330 5 -8565299859052576737 3 2 5697615 1745767506585398010 -1626557630845086604 0x1.30e8ad70a583dp-1"),
        (2, 0, "0x1.527239180862fp-1 98 2 3673583043067728919 0 -4820215345636744731 3 1 723611635 802843590653720330 -3232206973937818672 0x1.8ef43fa2eb9cp-6"),
        (2, 5, "0x1.c884fece24354p-2 70 8 3342203755046508204 -4 -6226441715019452376 3 1 70786514 421851838833614841 1268263783828966996 0x1.71b560fffd444p-2"),
        (42, 0, "0x1.dc9369eecc04ep-1 50 6 -7059243630996204619 1 3891836817331783281 3 3 413852184 1351074849451138816 -3825529689145872192 0x1.134e707737dc7p-1"),
        (42, 5, "0x1.19611810a2fb9p-1 94 9 2579750186585520358 -3 -9086780614022388851 3 5 752876267 2146781912777477205 -4463587980447211604 0x1.1813e310ad202p-2"),
        (-1, 0, "0x1.4ab1d6188f46p-1 72 4 -1971808131736728457 3 -5360066708548511738 3 5 594865560 1872836993916261269 4300987496481042197 0x1.83e702cee83d3p-1"),
        (-1, 5, "0x1.f30221be4aa0fp-1 56 4 -3129218560624148187 5 2200605975871480753 3 2 29821519 4309345031164548490 2481459334874811537 0x1.70f0074912d6p-6"),
        (123456789, 0, "0x1.0b8b0b63b9e0ap-1 98 5 1574082050578685747 0 599051038087065103 3 6 283610110 1728680296277835391 207808146523570546 0x1.f4584c3a585e8p-2"),
        (123456789, 5, "0x1.785157a750505p-1 70 3 -7218951423048380973 -4 -432696948589886204 3 1 524555226 173890273211176290 -2273449313371634915 0x1.60bbcfe41d517p-1"),
        (9223372036854775807, 0, "0x1.d46fb35c5d55p-4 78 10 -7940129910278257418 2 -3521938730182191145 3 6 322949549 2852714422756862300 1773653856459147849 0x1.076ae6a89e4a3p-1"),
        (9223372036854775807, 5, "0x1.fc5e422227065p-1 60 10 -4647269688877265098 4 -751330060060172385 3 2 32258154 4390993346935980207 1027603190538826429 0x1.3cef73fabbc0ep-2"),
        (-9223372036854775808, 0, "0x1.178eb5fafd3ap-2 50 5 2046947298972887762 -2 3289843455537670329 3 4 749220792 520830643082210828 2961062201283479740 0x1.794069fc4ccd4p-1"),
        (-9223372036854775808, 5, "0x1.64cba103344d7p-1 94 5 -8269619844616170060 -1 5634210281050611950 3 2 96557932 2988602015851719912 2859461844777808409 0x1.35ec2d3b0f01p-2"),
        (7, 0, "0x1.8ed6b57afb86ap-1 88 10 308256026104371513 2 3180030616479026709 3 1 572279462 312811058517106757 2774855046732605224 0x1.e2ef76bf2c6acp-2"),
        (7, 5, "0x1.a8580a13c7cp-4 80 3 4141285424956207044 4 -240579534099333498 3 2 786857569 2772650351980616002 1213326460942637293 0x1.e6802b0819a5cp-1"),
        (1000, 0, "0x1.313f630c99dp-7 6 4 -595158687561042031 -5 3619175621357704936 3 2 210789909 1225207925118545268 4151654341440436453 0x1.bea7548ea304dp-1"),
        (1000, 5, "0x1.575cae9c1fb2ap-2 16 4 -1586121749332342548 -2 6145699111248216636 3 4 100368614 185994513859669063 3139287301970660232 0x1.34488ff76a364p-3"),
    ];

    fn float_of(s: &str) -> f64 {
        match str_to_number(s.as_bytes()) {
            Some(Number::Float(f)) => f,
            other => panic!("bad float {s}: {other:?}"),
        }
    }

    #[test]
    fn matches_lua_sequences() {
        for &(seed, seed2, want) in CASES {
            let w: Vec<&str> = want.split(' ').collect();
            let mut r = LuaRng::new(seed, seed2);
            let mut got = Vec::new();
            got.push(r.random(&[]).unwrap());
            for args in [
                &[1, 100][..],
                &[10],
                &[0],
                &[-5, 5],
                &[i64::MIN, i64::MAX],
                &[3, 3],
                &[1, 6],
                &[1000000007],
                &[0, 1 << 62],
                &[-(1 << 62), 1 << 62],
            ] {
                got.push(r.random(args).unwrap());
            }
            got.push(RandomValue::Float(r.random_float()));
            assert_eq!(got.len(), w.len());
            for (g, w) in got.iter().zip(&w) {
                let expect = if w.starts_with("0x") {
                    RandomValue::Float(float_of(w))
                } else {
                    RandomValue::Int(w.parse().unwrap())
                };
                assert_eq!(*g, expect, "seed {seed},{seed2}");
            }
        }
    }

    #[test]
    fn seed_42_example() {
        // lua5.4 -e 'math.randomseed(42); print(math.random(1,100))' -> 50
        let mut r = LuaRng::new(42, 0);
        assert_eq!(r.random_range(1, 100), Ok(50));
        assert_eq!(r.seed(42, 0), (42, 0));
        assert_eq!(r.random(&[1, 100]), Ok(RandomValue::Int(50)));
    }

    #[test]
    fn errors_and_state_advance() {
        let mut a = LuaRng::new(1, 0);
        let mut b = LuaRng::new(1, 0);
        assert_eq!(a.random(&[2, 1]), Err(RandomError::IntervalEmpty));
        assert_eq!(a.random(&[-3]), Err(RandomError::IntervalEmpty));
        assert_eq!(a.random(&[1, 2, 3]), Err(RandomError::WrongArgCount));
        assert_eq!(RandomError::IntervalEmpty.message(), "interval is empty");
        for _ in 0..3 {
            b.next_raw();
        }
        assert_eq!(a, b);
    }

    #[test]
    fn float_range() {
        let mut r = LuaRng::new(99, 1);
        for _ in 0..10_000 {
            let f = r.random_float();
            assert!((0.0..1.0).contains(&f));
            let v = r.random_range(-3, 3).unwrap();
            assert!((-3..=3).contains(&v));
        }
    }
}
