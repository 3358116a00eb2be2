//! An opaque handle shared with C: a magic number that catches most stale and foreign pointers,
//! an access lock, and two parts behind them: the state that mutating calls work on (for a
//! session, the protocol engine) and the view that getters read.
//!
//! Both parts live in `UnsafeCell`s and are reached only through the two guards below: a
//! mutating call holds the one [`Exclusive`] guard (`&mut` to both parts), getters hold
//! [`Shared`] guards (`&` to the view only, never the state), and the lock decides which may
//! exist. A call back into the handle from foreign code that a mutating call is running (a
//! callback), or from a second thread, only ever touches the magic number and the lock, which
//! are outside the cells: it is refused before any second reference to either part exists, so
//! the running call's `&mut` stays unique. Re-entry and concurrent use are told apart by the
//! thread that holds the lock, so each gets its own result code.
//!
//! Nothing here knows about SMTP or OpenSSL: the module is generic over the state, so its
//! tests run under Miri.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Marks a live handle; cleared when it is freed. Best effort, as curl's `GOOD_EASY_HANDLE`:
/// a freed pointer usually still reads 0 here, a foreign one almost never reads this value.
/// Each kind of handle has its own value (see [`Handle::live`]), so that one kind of object
/// passed where another is expected (a sender cast to a session) is refused, never read as
/// the wrong type.
const LIVE: u32 = 0x534d_5450; // "SMTP"

/// Lock word value while a mutating call holds the handle; below it, the number of getters.
const EXCLUSIVE: usize = usize::MAX;

/// Why a handle could not be entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The pointer is NULL.
    Null,
    /// The pointer is not a live handle of this kind (misaligned, freed, or foreign).
    NotAHandle,
    /// This thread is already inside a mutating call on the handle (a callback called back).
    Reentrant,
    /// Another thread is using the handle right now.
    Concurrent,
}

/// The access lock: one mutating call, or any number of getters, never both. It never
/// blocks: a caller that cannot have it is told why.
struct AccessLock {
    /// 0 when idle, [`EXCLUSIVE`] during a mutating call, else the number of getters inside.
    word: AtomicUsize,
    /// The thread holding the lock exclusively ([`thread_token`]), 0 when none.
    holder: AtomicUsize,
}

/// A number that identifies the calling thread while it lives: the address of a thread-local.
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| t as *const u8 as usize)
}

impl AccessLock {
    const fn new() -> Self {
        AccessLock { word: AtomicUsize::new(0), holder: AtomicUsize::new(0) }
    }

    fn lock_exclusive(&self) -> Result<(), Refusal> {
        match self.word.compare_exchange(0, EXCLUSIVE, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => {
                self.holder.store(thread_token(), Ordering::Relaxed);
                Ok(())
            }
            // Only this thread can have stored its own token, so reading it back means re-entry.
            Err(_) if self.holder.load(Ordering::Relaxed) == thread_token() => Err(Refusal::Reentrant),
            Err(_) => Err(Refusal::Concurrent),
        }
    }

    fn unlock_exclusive(&self) {
        self.holder.store(0, Ordering::Relaxed);
        self.word.store(0, Ordering::Release);
    }

    fn lock_shared(&self) -> Result<(), Refusal> {
        let mut current = self.word.load(Ordering::Relaxed);
        loop {
            if current == EXCLUSIVE {
                return Err(if self.holder.load(Ordering::Relaxed) == thread_token() {
                    Refusal::Reentrant
                } else {
                    Refusal::Concurrent
                });
            }
            if current == EXCLUSIVE - 1 {
                return Err(Refusal::Concurrent); // absurdly many readers: refuse, never overflow
            }
            match self.word.compare_exchange_weak(current, current + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => current = now,
            }
        }
    }

    fn unlock_shared(&self) {
        self.word.fetch_sub(1, Ordering::Release);
    }
}

/// A handle: what a C pointer of the opaque type really points to.
#[repr(C)]
pub(crate) struct Handle<S, V> {
    /// First, so that it can be read from a pointer of unknown provenance.
    magic: AtomicU32,
    lock: AccessLock,
    state: UnsafeCell<ManuallyDrop<S>>,
    view: UnsafeCell<V>,
}

// SAFETY: both parts are only reached through the lock. The state is touched by one thread at
// a time (exclusive guard), so `S: Send` suffices. The view is read by getters on several
// threads at once, so `V: Sync`, and written only under the exclusive guard.
unsafe impl<S: Send, V: Send + Sync> Sync for Handle<S, V> {}

impl<S, V> Handle<S, V> {
    /// The magic number of a live handle of this kind: [`LIVE`] mixed with a hash (FNV-1a) of
    /// the two parts' type names, never 0 (the value of a freed handle).
    fn live() -> u32 {
        let name = std::any::type_name::<(S, V)>();
        let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        (LIVE ^ hash) | 1
    }

    /// Box `state` and `view` into a new handle and give up the box: the pointer is what C holds.
    pub(crate) fn into_raw(state: S, view: V) -> *mut Handle<S, V> {
        Box::into_raw(Box::new(Handle {
            magic: AtomicU32::new(Self::live()),
            lock: AccessLock::new(),
            state: UnsafeCell::new(ManuallyDrop::new(state)),
            view: UnsafeCell::new(view),
        }))
    }

    /// The handle behind `ptr`, if it looks live. Best effort: a pointer to freed memory is
    /// undefined behaviour to read in principle; in practice its magic number was cleared.
    fn check<'a>(ptr: *const Handle<S, V>) -> Result<&'a Handle<S, V>, Refusal> {
        if ptr.is_null() {
            return Err(Refusal::Null);
        }
        if !ptr.is_aligned() {
            return Err(Refusal::NotAHandle);
        }
        // SAFETY: non-NULL and aligned; the caller says it is one of ours. A shared reference
        // is allowed while another call holds the parts: they are inside UnsafeCells, and only
        // the atomics outside them are read here.
        let handle = unsafe { &*ptr };
        if handle.magic.load(Ordering::Acquire) != Self::live() {
            return Err(Refusal::NotAHandle);
        }
        Ok(handle)
    }

    /// Enter for a mutating call: both parts, exclusively, until the guard is dropped.
    pub(crate) fn enter_exclusive<'a>(ptr: *const Handle<S, V>) -> Result<Exclusive<'a, S, V>, Refusal> {
        let handle = Self::check(ptr)?;
        handle.lock.lock_exclusive()?;
        Ok(Exclusive { handle })
    }

    /// Enter for a getter: the view, read-only, shared with other getters.
    pub(crate) fn enter_shared<'a>(ptr: *const Handle<S, V>) -> Result<Shared<'a, S, V>, Refusal> {
        let handle = Self::check(ptr)?;
        handle.lock.lock_shared()?;
        Ok(Shared { handle })
    }

    /// Free the handle at `ptr`: drops the state, then the rest. Refused (and nothing done)
    /// when the handle is in use, for example when a callback frees the handle whose call is
    /// running it. While the state is dropped (which may run foreign code, such as a userdata
    /// destructor), the handle is already marked dead and still locked, so a call into it from
    /// that code is refused.
    pub(crate) fn free(ptr: *mut Handle<S, V>) -> Result<(), Refusal> {
        let handle = Self::check(ptr)?;
        handle.lock.lock_exclusive()?;
        handle.magic.store(0, Ordering::Release);
        // SAFETY: the lock is held exclusively and never released: no guard exists and none
        // can be made, so this is the only access to the state, which is dropped exactly once.
        unsafe { ManuallyDrop::drop(&mut *handle.state.get()) };
        // SAFETY: `ptr` came from Box::into_raw in into_raw (its magic said so); the state
        // inside is already dropped and ManuallyDrop will not drop it again.
        drop(unsafe { Box::from_raw(ptr) });
        Ok(())
    }
}

/// Both parts of a handle, held exclusively by a mutating call.
pub(crate) struct Exclusive<'a, S, V> {
    handle: &'a Handle<S, V>,
}

impl<S, V> Exclusive<'_, S, V> {
    /// The state and the view, each `&mut`, for as long as the guard is borrowed.
    pub(crate) fn parts(&mut self) -> (&mut S, &mut V) {
        // SAFETY: the lock is held exclusively by this guard, and `&mut self` makes these the
        // only references made through it; the two cells are distinct.
        unsafe { (&mut *self.handle.state.get(), &mut *self.handle.view.get()) }
    }
}

impl<S, V> Drop for Exclusive<'_, S, V> {
    fn drop(&mut self) {
        self.handle.lock.unlock_exclusive();
    }
}

/// The view of a handle, read by a getter (other getters may read it at the same time).
pub(crate) struct Shared<'a, S, V> {
    handle: &'a Handle<S, V>,
}

impl<S, V> Deref for Shared<'_, S, V> {
    type Target = V;
    fn deref(&self) -> &V {
        // SAFETY: the lock is held shared: no exclusive guard exists until this one is dropped.
        unsafe { &*self.handle.view.get() }
    }
}

impl<S, V> Drop for Shared<'_, S, V> {
    fn drop(&mut self) {
        self.handle.lock.unlock_shared();
    }
}

#[cfg(test)]
mod tests {
    //! These also run under Miri (`scripts/miri.sh`), which checks the aliasing claims above.
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// A state that says when it was dropped; the view is a number.
    struct Engine {
        value: u64,
        dropped: Arc<AtomicBool>,
    }

    impl Drop for Engine {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    type TestHandle = Handle<Engine, u64>;

    /// A handle pointer moved to another thread, as C code would share it.
    #[derive(Clone, Copy)]
    struct Shared(*mut TestHandle);
    // SAFETY: the handle is Sync (its lock guards every access); this only carries the pointer.
    unsafe impl Send for Shared {}

    fn new_handle() -> (*mut TestHandle, Arc<AtomicBool>) {
        let dropped = Arc::new(AtomicBool::new(false));
        (Handle::into_raw(Engine { value: 0, dropped: dropped.clone() }, 0), dropped)
    }

    /// A mutating call: change the state, then publish it in the view.
    fn increment(h: *mut TestHandle) -> Result<(), Refusal> {
        let mut guard = Handle::enter_exclusive(h)?;
        let (state, view) = guard.parts();
        state.value += 1;
        *view = state.value;
        Ok(())
    }

    #[test]
    fn null_and_misaligned_pointers_are_refused() {
        assert_eq!(TestHandle::enter_shared(std::ptr::null()).err(), Some(Refusal::Null));
        // writable memory, as a stale or foreign pointer from C would point to
        let mut bytes = [0u64; 16];
        let odd = bytes.as_mut_ptr().cast::<u8>().wrapping_add(1).cast::<TestHandle>();
        assert_eq!(TestHandle::enter_exclusive(odd).err(), Some(Refusal::NotAHandle));
        let zeroed = bytes.as_mut_ptr().cast::<TestHandle>(); // aligned, but no magic
        assert_eq!(TestHandle::enter_shared(zeroed).err(), Some(Refusal::NotAHandle));
    }

    #[test]
    fn a_mutating_call_then_getters() {
        let (h, dropped) = new_handle();
        increment(h).unwrap();
        let a = Handle::enter_shared(h).unwrap();
        let b = Handle::enter_shared(h).unwrap(); // getters share
        assert_eq!(*a + *b, 2);
        assert_eq!(Handle::enter_exclusive(h).err(), Some(Refusal::Concurrent)); // not while read
        drop((a, b));
        Handle::free(h).unwrap();
        assert!(dropped.load(Ordering::SeqCst));
    }

    /// What a callback does when it calls back into the handle whose mutating call runs it:
    /// refused, while the running call's `&mut`s are live and used again afterwards.
    #[test]
    fn reentry_from_inside_a_mutating_call_is_refused_without_aliasing() {
        let (h, _) = new_handle();
        {
            let mut guard = Handle::enter_exclusive(h).unwrap();
            let (state, view) = guard.parts();
            state.value = 1;
            let callback = || {
                assert_eq!(Handle::enter_exclusive(h).err(), Some(Refusal::Reentrant));
                assert_eq!(Handle::enter_shared(h).err(), Some(Refusal::Reentrant));
                assert_eq!(Handle::free(h).err(), Some(Refusal::Reentrant));
            };
            callback();
            state.value += 1; // still valid: nothing aliased them
            *view = state.value;
        }
        assert_eq!(*Handle::enter_shared(h).unwrap(), 2);
        Handle::free(h).unwrap();
    }

    #[test]
    fn another_thread_is_told_apart_from_reentry() {
        let (h, _) = new_handle();
        let shared = Shared(h);
        let guard = Handle::enter_exclusive(h).unwrap();
        std::thread::spawn(move || {
            let h = { shared }.0;
            assert_eq!(Handle::enter_exclusive(h).err(), Some(Refusal::Concurrent));
            assert_eq!(Handle::enter_shared(h).err(), Some(Refusal::Concurrent));
        })
        .join()
        .unwrap();
        drop(guard);
        Handle::free(h).unwrap();
    }

    #[test]
    fn getters_on_two_threads_at_once() {
        let (h, _) = new_handle();
        increment(h).unwrap();
        let shared = Shared(h);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(move || {
                    let h = { shared }.0;
                    (0..50).map(|_| Handle::enter_shared(h).map(|v| *v).unwrap_or(0)).sum::<u64>()
                })
            })
            .collect();
        for r in readers {
            assert_eq!(r.join().unwrap(), 50);
        }
        Handle::free(h).unwrap();
    }

    /// A mutating call racing getters on another thread: each side either gets the handle or
    /// is refused, never both at once (Miri and the sanitizers check there is no data race).
    #[test]
    fn writer_and_readers_exclude_each_other() {
        let (h, _) = new_handle();
        let shared = Shared(h);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let h = { shared }.0;
                let mut seen = 0;
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(v) = Handle::enter_shared(h) {
                        assert!(*v >= seen, "the view only grows");
                        seen = *v;
                    }
                    std::thread::yield_now();
                }
            })
        };
        let written = (0..100).filter(|_| increment(h).is_ok()).count() as u64;
        stop.store(true, Ordering::SeqCst);
        reader.join().unwrap();
        assert_eq!(*Handle::enter_shared(h).unwrap(), written);
        Handle::free(h).unwrap();
    }

    #[test]
    fn a_handle_of_another_kind_is_refused() {
        let (h, dropped) = new_handle();
        let other = h.cast::<Handle<u8, u64>>();
        assert_eq!(Handle::enter_exclusive(other).err(), Some(Refusal::NotAHandle));
        assert_eq!(Handle::enter_shared(other).err(), Some(Refusal::NotAHandle));
        assert_eq!(Handle::free(other).err(), Some(Refusal::NotAHandle));
        assert!(!dropped.load(Ordering::SeqCst));
        Handle::free(h).unwrap();
    }

    #[test]
    fn a_handle_being_freed_cannot_be_entered_from_its_own_destructors() {
        struct CallsBack(*mut Handle<CallsBack, ()>, Arc<AtomicBool>);
        impl Drop for CallsBack {
            fn drop(&mut self) {
                // what a userdata destructor calling back into the handle would see
                let refused = Handle::enter_exclusive(self.0).err() == Some(Refusal::NotAHandle);
                self.1.store(refused, Ordering::SeqCst);
            }
        }
        let refused = Arc::new(AtomicBool::new(false));
        let h = Handle::into_raw(CallsBack(std::ptr::null_mut(), refused.clone()), ());
        Handle::enter_exclusive(h).unwrap().parts().0 .0 = h;
        Handle::free(h).unwrap();
        assert!(refused.load(Ordering::SeqCst));
    }
}
