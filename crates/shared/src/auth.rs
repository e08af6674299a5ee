//! Authentication building blocks, free of any web framework or database: argon2id password hashing
//! ([`password`]), signed access tokens with a kind, audience and key id ([`tokens`]), opaque random tokens
//! stored only as SHA-256 hashes ([`opaque`]) and the per-account login back-off policy ([`backoff`]).

pub mod backoff;
pub mod opaque;
pub mod password;
pub mod tokens;

pub use backoff::LoginBackoff;
pub use opaque::OpaqueToken;
pub use tokens::{IssuedToken, JwtKeys, Subject, TokenError, TokenKind, VerifiedToken};
