//! Worker-protocol versions: `major << 8 | minor` on the wire, compared as (major, minor), and the
//! range this client speaks (1.21 = Nix 2.3 through 1.38 = current Nix).

use std::fmt;

/// A worker-protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    major: u8,
    minor: u8,
}

impl ProtocolVersion {
    /// The oldest daemon protocol accepted (Nix 2.3).
    pub const MIN: Self = Self::new(1, 21);
    /// The newest protocol spoken (and the version this client announces).
    pub const MAX: Self = Self::new(1, 38);

    /// A version from its parts.
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// The major number.
    pub const fn major(self) -> u8 {
        self.major
    }

    /// The minor number.
    pub const fn minor(self) -> u8 {
        self.minor
    }

    /// Decodes the wire form (`major << 8 | minor`). Bits above 16 are kept out of the value and
    /// reported as `None`: no Nix has ever sent them.
    pub const fn from_wire(v: u64) -> Option<Self> {
        if v > 0xffff {
            return None;
        }
        Some(Self::new((v >> 8) as u8, (v & 0xff) as u8))
    }

    /// The wire form.
    pub const fn to_wire(self) -> u64 {
        ((self.major as u64) << 8) | self.minor as u64
    }

    /// Whether this client can talk to a daemon announcing this version.
    pub fn is_supported(self) -> bool {
        // A newer daemon is fine: the negotiated version is the minimum of both.
        self.major == Self::MIN.major && self >= Self::MIN
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let v = ProtocolVersion::from_wire(0x122).unwrap();
        assert_eq!(v, ProtocolVersion::new(1, 34));
        assert_eq!(v.to_wire(), 0x122);
        assert_eq!(v.to_string(), "1.34");
        assert_eq!(ProtocolVersion::from_wire(1 << 16), None);
    }

    #[test]
    fn supported_range() {
        assert!(ProtocolVersion::new(1, 21).is_supported());
        assert!(ProtocolVersion::new(1, 38).is_supported());
        assert!(ProtocolVersion::new(1, 40).is_supported());
        assert!(!ProtocolVersion::new(1, 20).is_supported());
        assert!(!ProtocolVersion::new(2, 0).is_supported());
        assert!(!ProtocolVersion::new(0, 99).is_supported());
        assert!(ProtocolVersion::new(1, 9) < ProtocolVersion::new(1, 10));
    }
}
