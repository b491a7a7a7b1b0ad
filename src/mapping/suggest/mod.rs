//! Ranked national candidates for unmapped local codes (`yibao map suggest`): normalise names
//! and specs ([`normalise`]), index a code-set version once ([`index`]), search and score with
//! evidence ([`search`]), put candidates approved in other areas first and leave out rejected
//! ones ([`plan`]), and measure all of it on derived legacy names ([`eval`]). docs/SUGGEST.md.

pub mod clinical;
pub mod eval;
pub mod index;
pub mod normalise;
pub mod plan;
pub mod search;
pub mod synonyms;
