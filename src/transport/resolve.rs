//! Name resolution under the session's deadline.
//!
//! `getaddrinfo` can neither be cancelled nor given a timeout, so, as curl's threaded resolver
//! does, a resolution with a deadline runs on a resolver thread while the caller waits for its
//! answer no longer than the deadline. The threads are reused: a small process-wide pool,
//! started on first use, of at most [`MAX_WORKERS`] threads, each ending after [`IDLE_EXIT`]
//! without work.
//!
//! A resolution that outlives its deadline is not stopped (nothing can stop it): it finishes
//! in the background and its result is dropped. Its thread is busy until then, so the next
//! resolution goes to another thread, started if needed; only when [`MAX_WORKERS`] threads are
//! all stuck do later resolutions wait in the queue, and each of them still gives up at its own
//! deadline. A queued resolution whose caller has already given up (its deadline passed, or a
//! non-blocking caller dropped it) is skipped.
//!
//! A caller that must not block (the non-blocking driver) submits with [`submit_nonblocking`]:
//! the answer waits in a [`Pending`] whose descriptor (one end of a socket pair, as curl's
//! threaded resolver uses) becomes readable when the thread has answered, or has dropped the
//! job; the caller polls it with its other descriptors and then asks [`Pending::try_answer`].

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Most resolver threads alive at once: enough that a few stuck resolutions do not hold up
/// others, few enough that a dead name server cannot make the library pile up threads.
const MAX_WORKERS: usize = 4;

/// How long a resolver thread waits for work before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(5);

type Answer = io::Result<Vec<SocketAddr>>;

/// One resolution waiting for a thread.
struct Job {
    host: String,
    port: u16,
    /// `None`: no deadline (only non-blocking callers submit such jobs).
    deadline: Option<Instant>,
    answer: mpsc::Sender<Answer>,
    /// The thread's end of a non-blocking caller's socket pair: a byte is written to it once
    /// the answer is sent, and dropping it (with the job, answered or not) closes it, which
    /// wakes the caller too.
    wake: Option<UnixStream>,
    /// Set when a non-blocking caller drops its [`Pending`]: a job still queued is skipped.
    abandoned: Option<Arc<AtomicBool>>,
}

struct Pool {
    queue: VecDeque<Job>,
    /// Threads alive, and how many of them are waiting for work.
    workers: usize,
    idle: usize,
    /// The process the threads belong to: a child of `fork` inherits this state but none of
    /// the threads.
    pid: u32,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { queue: VecDeque::new(), workers: 0, idle: 0, pid: 0 });
static WORK: Condvar = Condvar::new();

fn lock_pool() -> MutexGuard<'static, Pool> {
    // the lock guards plain counters and a queue, left consistent at every unlock
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The addresses of `host` (a name or an IP literal) and `port`, in the resolver's order.
/// With a deadline, waits no longer than it and then fails with `io::ErrorKind::TimedOut`;
/// without one, resolves on the calling thread.
pub(super) fn resolve(host: &str, port: u16, deadline: Option<Instant>) -> Answer {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let Some(deadline) = deadline else {
        return lookup(host, port);
    };
    let (answer, answered) = mpsc::channel();
    submit(Job { host: host.to_owned(), port, deadline: Some(deadline), answer, wake: None, abandoned: None })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match answered.recv_timeout(left) {
        Ok(addrs) => addrs,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(io::ErrorKind::TimedOut.into()),
        // a thread drops a job unanswered when its deadline has passed: that is a timeout too
        Err(mpsc::RecvTimeoutError::Disconnected) if Instant::now() >= deadline => Err(io::ErrorKind::TimedOut.into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other("the resolver thread ended")),
    }
}

/// A resolution submitted without waiting: see [`submit_nonblocking`].
#[derive(Debug)]
pub(super) struct Pending {
    answered: mpsc::Receiver<Answer>,
    /// The caller's end of the socket pair: readable once the thread is done with the job.
    woken: UnixStream,
    deadline: Option<Instant>,
    abandoned: Arc<AtomicBool>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        // a job not yet started is skipped: its thread stays free for others
        self.abandoned.store(true, Ordering::Relaxed);
    }
}

/// Queue the resolution of `host` and `port` on the pool and return at once. The thread
/// skips the job if `deadline` has passed before it gets to it (the caller then sees a
/// timeout); the caller enforces the deadline itself, this never waits.
pub(super) fn submit_nonblocking(host: &str, port: u16, deadline: Option<Instant>) -> io::Result<Pending> {
    let (woken, wake) = UnixStream::pair()?;
    woken.set_nonblocking(true)?;
    wake.set_nonblocking(true)?;
    let (answer, answered) = mpsc::channel();
    let abandoned = Arc::new(AtomicBool::new(false));
    submit(Job {
        host: host.to_owned(),
        port,
        deadline,
        answer,
        wake: Some(wake),
        abandoned: Some(abandoned.clone()),
    })?;
    Ok(Pending { answered, woken, deadline, abandoned })
}

impl Pending {
    /// The descriptor to wait on for reading: readable (a byte, or the end of the stream)
    /// once the answer is ready or the job was dropped unanswered.
    pub(super) fn fd(&self) -> RawFd {
        self.woken.as_raw_fd()
    }

    /// The answer if there is one now (`None`: not yet). A job its thread dropped unanswered
    /// because the deadline had passed is a timeout, as in [`resolve`].
    pub(super) fn try_answer(&mut self) -> Option<Answer> {
        match self.answered.try_recv() {
            Ok(addrs) => Some(addrs),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) if self.deadline.is_some_and(|d| Instant::now() >= d) => {
                Some(Err(io::ErrorKind::TimedOut.into()))
            }
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(io::Error::other("the resolver thread ended"))),
        }
    }
}

fn lookup(host: &str, port: u16) -> Answer {
    (host, port).to_socket_addrs().map(Iterator::collect)
}

fn submit(job: Job) -> io::Result<()> {
    let mut pool = lock_pool();
    if pool.pid != std::process::id() {
        *pool = Pool { queue: VecDeque::new(), workers: 0, idle: 0, pid: std::process::id() };
    }
    pool.queue.push_back(job);
    if pool.idle >= pool.queue.len() || pool.workers >= MAX_WORKERS {
        // an idle thread takes it, or the first thread that gets free
        WORK.notify_one();
        return Ok(());
    }
    match thread::Builder::new().name("smtpclient-resolver".into()).spawn(work) {
        Ok(_) => {
            pool.workers += 1;
            Ok(())
        }
        Err(e) if pool.workers == 0 => {
            pool.queue.pop_back();
            Err(e)
        }
        // the threads there are will get to it
        Err(_) => Ok(()),
    }
}

/// Answer `job`, unless its caller has given up (deadline passed, or abandoned), and wake a
/// non-blocking caller; the job is dropped in any case, which closes its end of the socket
/// pair.
fn run(job: Job) {
    let abandoned = job.abandoned.as_ref().is_some_and(|a| a.load(Ordering::Relaxed));
    if abandoned || job.deadline.is_some_and(|d| Instant::now() >= d) {
        return;
    }
    // the caller may give up meanwhile: then nobody receives this
    let _ = job.answer.send(lookup(&job.host, job.port));
    if let Some(wake) = &job.wake {
        // MSG_NOSIGNAL: a caller that gave up has closed its end (EPIPE, ignored)
        let _ = socket2::SockRef::from(wake).send_with_flags(b"!", libc::MSG_NOSIGNAL);
    }
}

/// A resolver thread: resolve what is queued, end after [`IDLE_EXIT`] without work.
fn work() {
    let mut pool = lock_pool();
    loop {
        if let Some(job) = pool.queue.pop_front() {
            drop(pool);
            run(job);
            pool = lock_pool();
            continue;
        }
        pool.idle += 1;
        let (guard, wait) = WORK.wait_timeout(pool, IDLE_EXIT).unwrap_or_else(|poisoned| poisoned.into_inner());
        pool = guard;
        pool.idle -= 1;
        if wait.timed_out() && pool.queue.is_empty() {
            pool.workers -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_thread_and_names_resolve_under_a_deadline() {
        let addrs = resolve("::1", 25, None).unwrap();
        assert_eq!(addrs, vec!["[::1]:25".parse().unwrap()]);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addrs = resolve("localhost", 2525, Some(deadline)).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 2525), "{addrs:?}");
        // a deadline already past: the thread skips the job, the caller does not wait
        let e = resolve("localhost", 25, Some(Instant::now())).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    /// Wait up to `ms` for `fd` to be readable.
    fn readable_within(fd: RawFd, ms: i32) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        n == 1 && p.revents != 0
    }

    #[test]
    fn a_nonblocking_submission_wakes_its_descriptor_with_the_answer() {
        let mut pending =
            submit_nonblocking("localhost", 2525, Some(Instant::now() + Duration::from_secs(10))).unwrap();
        assert!(readable_within(pending.fd(), 10_000), "the resolver never woke the descriptor");
        let addrs = pending.try_answer().expect("answered once woken").unwrap();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 2525), "{addrs:?}");
        // no deadline at all: still resolved on the pool, never on the caller's thread
        let mut pending = submit_nonblocking("localhost", 25, None).unwrap();
        assert!(readable_within(pending.fd(), 10_000));
        assert!(pending.try_answer().expect("answered").is_ok());
    }

    #[test]
    fn a_nonblocking_submission_past_its_deadline_wakes_as_a_timeout() {
        let mut pending = submit_nonblocking("localhost", 25, Some(Instant::now())).unwrap();
        // the thread skips the job and drops it: its end of the pair closes, which wakes us
        assert!(readable_within(pending.fd(), 10_000), "a dropped job must wake the caller");
        let e = pending.try_answer().expect("the job was dropped").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    /// A job as `submit_nonblocking` queues it, run on this thread; what its caller's end then
    /// holds: the answer (if any) and the bytes of the socket pair up to its end.
    fn run_job(abandon: bool) -> (Option<Answer>, Vec<u8>) {
        let (mut woken, wake) = UnixStream::pair().unwrap();
        let (answer, answered) = mpsc::channel();
        let abandoned = Arc::new(AtomicBool::new(abandon));
        let deadline = Some(Instant::now() + Duration::from_secs(10));
        run(Job { host: "localhost".into(), port: 25, deadline, answer, wake: Some(wake), abandoned: Some(abandoned) });
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut woken, &mut bytes).unwrap();
        (answered.try_recv().ok(), bytes)
    }

    #[test]
    fn an_abandoned_job_is_skipped_and_its_caller_still_woken() {
        let (answer, bytes) = run_job(false);
        assert!(answer.expect("answered").is_ok());
        assert_eq!(bytes, b"!");
        // dropped by its caller before its turn: no lookup, the pair closed (the end of stream wakes)
        let (answer, bytes) = run_job(true);
        assert!(answer.is_none());
        assert!(bytes.is_empty());
    }
}
