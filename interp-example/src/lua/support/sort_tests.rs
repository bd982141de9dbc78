//! Tests for `sort.rs`.  `testdata/sort.tsv` was produced by lua5.4 sorting
//! records `{key, id}` with various comparators (consistent, `<=`, always
//! true/false, inconsistent, call-count based, raising an error at call k);
//! it records the final order of ids and the error, if any.
use super::*;

#[derive(Clone, Copy, Debug)]
struct Rec {
    key: i64,
    id: usize,
}

struct Table {
    a: Vec<Rec>,
    kind: String,
    k: usize,
    calls: usize,
}

impl SortTable for Table {
    type Value = Rec;
    type Error = String;
    fn get(&mut self, i: u32) -> Result<Rec, String> {
        Ok(self.a[i as usize - 1])
    }
    fn set(&mut self, i: u32, v: Rec) -> Result<(), String> {
        self.a[i as usize - 1] = v;
        Ok(())
    }
    fn less(&mut self, a: &Rec, b: &Rec) -> Result<bool, String> {
        self.calls += 1;
        Ok(match self.kind.as_str() {
            "lt" => a.key < b.key,
            "le" => a.key <= b.key,
            "gt" => a.key > b.key,
            "true" => true,
            "false" => false,
            "mod" => a.key % 3 < b.key % 5,
            "count" => self.calls % 7 < 3,
            "err" => {
                if self.calls == self.k {
                    return Err("boom".into());
                }
                a.key < b.key
            }
            k => panic!("kind {k}"),
        })
    }
    fn randomize_pivot(&mut self) -> u32 {
        panic!("pivot randomization should not trigger in these cases")
    }
}

#[test]
fn lua_oracle_cases() {
    let data = include_str!("testdata/sort.tsv");
    let mut n = 0;
    for line in data.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "{line:?}");
        let (kind, k) = match f[0].split_once(':') {
            Some((kind, k)) => (kind.to_string(), k.parse().unwrap()),
            None => (f[0].to_string(), 0),
        };
        let keys: Vec<i64> = f[1]
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let a = keys
            .iter()
            .enumerate()
            .map(|(i, &key)| Rec { key, id: i + 1 })
            .collect();
        let mut t = Table {
            a,
            kind,
            k,
            calls: 0,
        };
        let len = keys.len() as i64;
        let r = sort(&mut t, len);
        let ids: Vec<String> = t.a.iter().map(|r| r.id.to_string()).collect();
        let ids = ids.join(" ");
        let got = match r {
            Ok(()) => ids,
            Err(SortError::Vm(e)) => format!("ERR {e} | {ids}"),
            Err(e) => format!("ERR {} | {ids}", e.message("sort").unwrap()),
        };
        assert_eq!(got, f[2], "case {line}");
        n += 1;
    }
    assert!(n > 1000);
}

#[test]
fn array_too_big_and_trivial() {
    let mut t = Table {
        a: vec![],
        kind: "lt".into(),
        k: 0,
        calls: 0,
    };
    assert_eq!(sort(&mut t, 0), Ok(()));
    assert_eq!(sort(&mut t, -5), Ok(()));
    assert_eq!(sort(&mut t, i32::MAX as i64), Err(SortError::ArrayTooBig));
    assert_eq!(
        SortError::<()>::ArrayTooBig.message("sort").unwrap(),
        "bad argument #1 to 'sort' (array too big)"
    );
}

struct Plain(Vec<i64>, u32);
impl SortTable for Plain {
    type Value = i64;
    type Error = ();
    fn get(&mut self, i: u32) -> Result<i64, ()> {
        self.0.get(i as usize - 1).copied().ok_or(())
    }
    fn set(&mut self, i: u32, v: i64) -> Result<(), ()> {
        *self.0.get_mut(i as usize - 1).ok_or(())? = v;
        Ok(())
    }
    fn less(&mut self, a: &i64, b: &i64) -> Result<bool, ()> {
        Ok(a < b)
    }
    fn randomize_pivot(&mut self) -> u32 {
        self.1 = self.1.wrapping_mul(1664525).wrapping_add(1013904223);
        self.1
    }
}

#[test]
fn large_and_adversarial_inputs_sort_correctly() {
    let mut st = 5u64;
    for &n in &[1000usize, 5000, 20000] {
        let v: Vec<i64> = (0..n)
            .map(|_| {
                st = st.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((st >> 33) % 100) as i64
            })
            .collect();
        for input in [
            v.clone(),
            (0..n as i64).collect(),
            (0..n as i64).rev().collect(),
            vec![7; n],
        ] {
            let mut want = input.clone();
            want.sort();
            let mut t = Plain(input, 1);
            sort(&mut t, n as i64).unwrap();
            assert_eq!(t.0, want);
        }
    }
    // Organ pipe and sawtooth patterns provoke imbalanced partitions.
    let n = 20000i64;
    let organ: Vec<i64> = (0..n).map(|i| if i < n / 2 { i } else { n - i }).collect();
    let saw: Vec<i64> = (0..n).map(|i| i % 3).collect();
    for input in [organ, saw] {
        let mut want = input.clone();
        want.sort();
        let mut t = Plain(input, 1);
        sort(&mut t, n).unwrap();
        assert_eq!(t.0, want);
    }
}
