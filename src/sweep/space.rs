//! The scenario space of a sweep: every combination of 1..=`max_failures` of `n` candidate
//! hosts, ranked by failure count, then lexicographically by candidate position — plus random
//! samples of it and the deterministic split into shards.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// Combinations of 1..=`max_failures` out of `candidates`, each with a rank in `0..len()`:
/// all 1-host combinations first, then all 2-host ones, …; within one failure count,
/// lexicographic order of the candidate positions (`[0,1] < [0,2] < … < [1,2] < …`).
#[derive(Debug, Clone)]
pub(crate) struct Space {
    candidates: usize,
    max_failures: usize,
    /// `binomial[i * (max_failures + 1) + j]` = C(i, j), for i ≤ candidates, j ≤ max_failures.
    binomial: Vec<u64>,
    /// Ranks of failure count k are `level_start[k - 1] .. level_start[k]`.
    level_start: Vec<u64>,
}

impl Space {
    /// Errors when the space has more than `u64::MAX` scenarios (far beyond any sweep, but
    /// the arithmetic must not wrap).
    pub(crate) fn new(candidates: usize, max_failures: usize) -> Result<Space> {
        let width = max_failures + 1;
        let too_large = || Error::Argument(format!("C({candidates}, ≤{max_failures}) scenarios: too many to number"));
        let mut binomial = vec![0u64; (candidates + 1) * width];
        for i in 0..=candidates {
            binomial[i * width] = 1;
            for j in 1..=max_failures.min(i) {
                let above = binomial[(i - 1) * width + j - 1].checked_add(binomial[(i - 1) * width + j]);
                binomial[i * width + j] = above.ok_or_else(too_large)?;
            }
        }
        let mut level_start = vec![0u64];
        for k in 1..=max_failures {
            let end = level_start[k - 1].checked_add(binomial[candidates * width + k]).ok_or_else(too_large)?;
            level_start.push(end);
        }
        Ok(Space { candidates, max_failures, binomial, level_start })
    }

    fn choose(&self, n: usize, k: usize) -> u64 {
        if k > self.max_failures || n > self.candidates {
            return 0;
        }
        self.binomial[n * (self.max_failures + 1) + k]
    }

    /// Number of scenarios.
    pub(crate) fn len(&self) -> u64 {
        self.level_start[self.max_failures]
    }

    /// The first rank of the scenarios with `failures` (1..=max_failures) failed hosts.
    pub(crate) fn level_start(&self, failures: usize) -> u64 {
        self.level_start[failures - 1]
    }

    /// Number of scenarios with `failures` failed hosts.
    pub(crate) fn level_len(&self, failures: usize) -> u64 {
        self.choose(self.candidates, failures)
    }

    /// The candidate positions of the scenario of rank `rank` (< `len()`), ascending, into `out`.
    pub(crate) fn unrank(&self, rank: u64, out: &mut Vec<u32>) {
        out.clear();
        let Some(k) = (1..=self.max_failures).find(|&k| rank < self.level_start[k]) else {
            return;
        };
        let mut rest = rank - self.level_start[k - 1];
        let mut next = 0usize;
        for picked in 0..k {
            // C(n - next - 1, k - picked - 1) combinations start with candidate `next`.
            loop {
                if next >= self.candidates {
                    return; // only for a rank out of range
                }
                let starting_here = self.choose(self.candidates - next - 1, k - picked - 1);
                if rest < starting_here {
                    break;
                }
                rest -= starting_here;
                next += 1;
            }
            out.push(next as u32);
            next += 1;
        }
    }

    /// Moves `combo` to the scenario of the next rank; false after the last one.
    pub(crate) fn advance(&self, combo: &mut Vec<u32>) -> bool {
        let (n, k) = (self.candidates, combo.len());
        for i in (0..k).rev() {
            if (combo[i] as usize) < n - k + i {
                combo[i] += 1;
                for j in i + 1..k {
                    combo[j] = combo[j - 1] + 1;
                }
                return true;
            }
        }
        if k < self.max_failures {
            combo.clear();
            combo.extend(0..=k as u32);
            return true;
        }
        false
    }

    /// `size` distinct ranks drawn uniformly from the whole space (all of it when `size` ≥
    /// `len()`), ascending. Deterministic for a seed: Floyd's algorithm over splitmix64.
    pub(crate) fn sample(&self, size: u64, seed: u64) -> Vec<u64> {
        let len = self.len();
        if size >= len {
            return (0..len).collect();
        }
        let mut rng = SplitMix64::new(seed);
        // Only membership is asked of the set; the order comes from the sort.
        let mut picked = HashSet::with_capacity(size as usize);
        for j in len - size..len {
            let candidate = rng.below(j + 1);
            if !picked.insert(candidate) {
                picked.insert(j);
            }
        }
        let mut ranks: Vec<u64> = picked.into_iter().collect();
        ranks.sort_unstable();
        ranks
    }
}

/// The `shard`-th of `shards` contiguous, disjoint slices of `0..len` (sizes differ by at most 1).
pub(crate) fn shard_slice(len: u64, shard: usize, shards: usize) -> (u64, u64) {
    let bound = |i: usize| (u128::from(len) * i as u128 / shards as u128) as u64;
    (bound(shard), bound(shard + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_enumerate_every_combination_in_order() {
        let space = Space::new(6, 3).unwrap();
        assert_eq!(space.len(), 6 + 15 + 20);
        let mut walked = Vec::new();
        let mut combo = vec![0u32];
        loop {
            walked.push(combo.clone());
            if !space.advance(&mut combo) {
                break;
            }
        }
        assert_eq!(walked.len() as u64, space.len());
        let mut sorted = walked.clone();
        sorted.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        sorted.dedup();
        assert_eq!(sorted, walked, "ordered by (k, positions), no duplicates");
        for (rank, expected) in walked.iter().enumerate() {
            let mut got = Vec::new();
            space.unrank(rank as u64, &mut got);
            assert_eq!(&got, expected, "rank {rank}");
        }
    }

    #[test]
    fn cluster_maximum_sizes() {
        let space = Space::new(96, 3).unwrap();
        assert_eq!(space.level_len(2), 4_560);
        assert_eq!(space.level_len(3), 142_880);
        assert_eq!(space.len(), 96 + 4_560 + 142_880);
        assert!(Space::new(4000, 64).is_err());
    }

    #[test]
    fn samples_are_distinct_sorted_and_seeded() {
        let space = Space::new(20, 4).unwrap();
        let a = space.sample(500, 7);
        assert_eq!(a.len(), 500);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|&r| r < space.len()));
        assert_eq!(a, space.sample(500, 7));
        assert_ne!(a, space.sample(500, 8));
        assert_eq!(space.sample(u64::MAX, 1).len() as u64, space.len());
    }

    #[test]
    fn shards_tile_the_range() {
        for len in [0u64, 1, 5, 96, 4656] {
            for shards in 1..=9 {
                let slices: Vec<_> = (0..shards).map(|i| shard_slice(len, i, shards)).collect();
                assert_eq!(slices[0].0, 0);
                assert_eq!(slices[shards - 1].1, len);
                assert!(slices.windows(2).all(|w| w[0].1 == w[1].0));
            }
        }
    }
}
