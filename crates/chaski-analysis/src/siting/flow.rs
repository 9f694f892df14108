//! Maximum flow (Dinic 1970) on `f64` capacities, for the capacitated model's
//! split assignment of villages to homes.

#![expect(
    clippy::many_single_char_names,
    reason = "the notation of the algorithm: d demand, p sites, s savings, t minutes"
)]

/// A flow network.
pub(crate) struct Network {
    to: Vec<usize>,
    cap: Vec<f64>,
    adj: Vec<Vec<usize>>,
    level: Vec<i32>,
    it: Vec<usize>,
}

const EPS: f64 = 1e-12;

impl Network {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            to: Vec::new(),
            cap: Vec::new(),
            adj: vec![Vec::new(); nodes],
            level: vec![0; nodes],
            it: vec![0; nodes],
        }
    }

    /// Adds an arc, returns its index (flow on it: [`Network::flow`]).
    pub(crate) fn add(&mut self, from: usize, to: usize, cap: f64) -> usize {
        let e = self.to.len();
        self.to.push(to);
        self.cap.push(cap);
        self.adj[from].push(e);
        self.to.push(from);
        self.cap.push(0.0);
        self.adj[to].push(e + 1);
        e
    }

    /// Flow on arc `e` (the residual capacity of its reverse).
    pub(crate) fn flow(&self, e: usize) -> f64 {
        self.cap[e ^ 1]
    }

    fn bfs(&mut self, s: usize, t: usize) -> bool {
        self.level.iter_mut().for_each(|l| *l = -1);
        let mut queue = std::collections::VecDeque::new();
        self.level[s] = 0;
        queue.push_back(s);
        while let Some(u) = queue.pop_front() {
            for &e in &self.adj[u] {
                let v = self.to[e];
                if self.cap[e] > EPS && self.level[v] < 0 {
                    self.level[v] = self.level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        self.level[t] >= 0
    }

    fn dfs(&mut self, u: usize, t: usize, f: f64) -> f64 {
        if u == t {
            return f;
        }
        while self.it[u] < self.adj[u].len() {
            let e = self.adj[u][self.it[u]];
            let v = self.to[e];
            if self.cap[e] > EPS && self.level[v] == self.level[u] + 1 {
                let pushed = self.dfs(v, t, f.min(self.cap[e]));
                if pushed > EPS {
                    self.cap[e] -= pushed;
                    self.cap[e ^ 1] += pushed;
                    return pushed;
                }
            }
            self.it[u] += 1;
        }
        0.0
    }

    /// Maximum flow from `s` to `t` (capacities out of `s` must be finite).
    pub(crate) fn max_flow(&mut self, s: usize, t: usize) -> f64 {
        let mut total = 0.0;
        while self.bfs(s, t) {
            self.it.iter_mut().for_each(|i| *i = 0);
            loop {
                let f = self.dfs(s, t, f64::INFINITY);
                if f <= EPS {
                    break;
                }
                total += f;
            }
        }
        total
    }
}
