//! Environment frames: the slots of a `let`, `rec`, lambda or `with`, over their parent.

use std::cell::RefCell;
use std::rc::Rc;

use super::Value;

/// Frame slots: most frames (lambdas) have one or two, kept inline.
pub type Slots = smallvec::SmallVec<[Value; 2]>;

/// A runtime environment frame.
#[derive(Debug)]
pub struct Env {
    /// Slots (variables of a `let`, `rec`, lambda; or the attribute set of a `with`).
    pub slots: RefCell<Slots>,
    /// The enclosing frame.
    pub parent: Option<Rc<Env>>,
    /// Whether this frame is a `with`.
    pub is_with: bool,
}
