//! The messages' words. Plain text and HTML, no SES templates; nothing from the user (name,
//! address) is written into them, so there is nothing to escape and nothing to inject.

use shared::code::{OneTimeCode, Purpose};

pub struct Message {
    pub subject: &'static str,
    pub text: String,
    pub html: String,
}

pub fn compose(purpose: Purpose, code: &OneTimeCode, minutes: u64) -> Message {
    let code = code.expose();
    match purpose {
        Purpose::VerifyEmail => Message {
            subject: "Your verification code",
            text: format!(
                "Your verification code is {code}.\n\n\
                 It expires in {minutes} minutes and works once. If you did not sign up, \
                 ignore this message.\n"
            ),
            html: format!(
                "<p>Your verification code is <strong>{code}</strong>.</p>\
                 <p>It expires in {minutes} minutes and works once. If you did not sign up, \
                 ignore this message.</p>"
            ),
        },
        Purpose::ResetPassword => Message {
            subject: "Your password reset code",
            text: format!(
                "Someone asked to reset the password of the account that uses this address. \
                 The code to set a new one is {code}.\n\n\
                 It expires in {minutes} minutes and works once. Resetting signs out every \
                 device. If you did not ask, ignore this message: your password stays as it is.\n"
            ),
            html: format!(
                "<p>Someone asked to reset the password of the account that uses this address. \
                 The code to set a new one is <strong>{code}</strong>.</p>\
                 <p>It expires in {minutes} minutes and works once. Resetting signs out every \
                 device. If you did not ask, ignore this message: your password stays as it is.</p>"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_code_and_its_lifetime() {
        for (purpose, digits, minutes) in [
            (Purpose::VerifyEmail, "042917", 10),
            (Purpose::ResetPassword, "04291733", 15),
        ] {
            let code = OneTimeCode::parse(purpose, digits).unwrap();
            let message = compose(purpose, &code, minutes);
            for body in [&message.text, &message.html] {
                assert!(body.contains(digits), "{body}");
                assert!(body.contains(&format!("{minutes} minutes")), "{body}");
            }
            assert!(
                !message.subject.contains(digits),
                "codes stay out of previews"
            );
        }
    }
}
