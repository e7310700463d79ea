//! Work split over two threads (parsing, planning and emitting large renders).

/// Whether splitting work over two threads can help here.
pub(crate) fn two_cores() -> bool {
    static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TWO.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

/// `f` over the two halves of `items` on two threads when there are at least `min` items (and
/// two cores), else over all of them; the results in order.
pub(crate) fn in_halves<T: Sync, R: Send>(
    items: &[T],
    min: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    if items.len() < min.max(2) || !two_cores() {
        return vec![f(items)];
    }
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let second = s.spawn(|| f(b));
        let first = f(a);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        vec![first, second]
    })
}
