//! Parse, don't validate: request JSON becomes these types, whose constructors are the only
//! place a rule lives. Everything downstream trusts them.

mod email;
mod fields;
mod name;
mod password;
mod phone;
mod requests;
mod user;

pub use email::Email;
pub use name::PersonName;
pub use password::Password;
pub use phone::{CountryCode, Phone};
pub use requests::{
    Credentials, EmailCode, EmailOnly, NewPassword, NewUser, PasswordConfirmation, PasswordReset,
    RefreshRequest, TokenToValidate,
};
pub use user::{EmailVerified, Timestamp, User, UserId};
