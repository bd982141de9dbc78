mod common;
use common::*;

#[test]
fn counting_loop() {
    let p = Pair::new(
        "trace t\nlabel i0=s0:0, i1=s1:0\ni2 = int_add i1, i0\ni3 = int_sub i0, 1\ni4 = int_gt i3, 0\nguard_true i4 [@1 s0:0=i3 s1:0=i2]\njump i3, i2\n",
    );
    let o = p.check(&[10, 0]);
    assert_eq!(o.exit, 0);
    assert_eq!(o.buf, vec![0, 55]);
    assert_eq!(o.iterations, 9);
}
