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
//! deadline. A queued resolution whose caller has already given up is skipped.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};
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
    deadline: Instant,
    answer: mpsc::Sender<Answer>,
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
    submit(Job { host: host.to_owned(), port, deadline, answer })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match answered.recv_timeout(left) {
        Ok(addrs) => addrs,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(io::ErrorKind::TimedOut.into()),
        // a thread drops a job unanswered when its deadline has passed: that is a timeout too
        Err(mpsc::RecvTimeoutError::Disconnected) if Instant::now() >= deadline => Err(io::ErrorKind::TimedOut.into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other("the resolver thread ended")),
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

/// A resolver thread: resolve what is queued, end after [`IDLE_EXIT`] without work.
fn work() {
    let mut pool = lock_pool();
    loop {
        if let Some(job) = pool.queue.pop_front() {
            drop(pool);
            if Instant::now() < job.deadline {
                // the caller may give up meanwhile: then nobody receives this
                let _ = job.answer.send(lookup(&job.host, job.port));
            }
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
}
