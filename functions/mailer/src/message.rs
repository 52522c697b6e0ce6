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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_code_and_its_lifetime() {
        let code = OneTimeCode::parse(Purpose::VerifyEmail, "042917").unwrap();
        let message = compose(Purpose::VerifyEmail, &code, 10);
        for body in [&message.text, &message.html] {
            assert!(body.contains("042917"), "{body}");
            assert!(body.contains("10 minutes"), "{body}");
        }
        assert!(
            !message.subject.contains("042917"),
            "codes stay out of previews"
        );
    }
}
