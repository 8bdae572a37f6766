//! The authorize hook: asks an `#[authorize]` guest function whether a client may publish to a topic or
//! subscribe to a filter. Same instances, limits, trap handling, counters and logs as message calls; a call
//! that fails for any reason denies (fail closed).

use hpmq_abi::{AuthRequestView, encode_auth_request};
use mqtt_codec::ReasonCode;

use super::{Declared, LoadedModule, Runtime, locked};
use crate::error::{CallFailure, Error};
use crate::{AuthAction, Context, FunctionRef, QoS, Verdict};

/// What a client asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthRequest<'a> {
    /// Publish (a PUBLISH or a will message) or subscribe.
    pub action: AuthAction,
    /// The topic name of a publish, or the topic filter (maybe `$share/...`) of a subscribe.
    pub topic: &'a str,
    /// The PUBLISH's QoS, or the highest QoS the subscription asks for.
    pub qos: QoS,
    /// The PUBLISH's retain flag (false for a subscribe).
    pub retain: bool,
}

/// The outcome of [`Runtime::authorize`]: always a verdict, plus the error when the call failed (the
/// verdict is then [`Verdict::deny`], 0x87 Not authorized; the failure has already been counted and logged).
#[derive(Debug)]
pub struct Authorization {
    /// Allow or deny. A deny's reason code is one MQTT defines (the host checked the guest's answer).
    pub verdict: Verdict,
    /// Why the call failed, if it did.
    pub error: Option<Error>,
}

impl Authorization {
    /// `None` when allowed; the reason code to refuse the client with when denied.
    pub fn deny_reason(&self) -> Option<ReasonCode> {
        match self.verdict {
            Verdict::Allow => None,
            // The runtime only returns codes MQTT defines; 0x87 stands in should that ever change.
            Verdict::Deny { reason_code } => {
                Some(ReasonCode::from_u8(reason_code).unwrap_or(ReasonCode::NotAuthorized))
            }
        }
    }
}

impl Runtime {
    /// Checks that `function` can serve as the authorize hook and keeps it loadable: a later reload of its
    /// module that lacks it fails and leaves the old version running.
    ///
    /// For a module built with hpmq-sdk the function must be declared `#[authorize]`; a plain waPC module
    /// (which declares nothing) is trusted to answer the authorize encoding.
    pub fn use_authorize_function(&self, function: &FunctionRef) -> Result<(), Error> {
        let _admin = self.admin()?;
        let module = self.slot(&function.module)?.current();
        check_declared(&module, function)?;
        locked(self.authorizers.lock(), "authorizers")?.insert(function.clone());
        Ok(())
    }

    /// Asks the `#[authorize]` function `function` about `request` from the client in `ctx`.
    ///
    /// The call runs within the runtime's [`crate::Limits`] on a pooled instance like any other call, and
    /// may block up to the deadline: call it from a thread that may block. Any failure (unknown module,
    /// trap, deadline, returned error, malformed answer, a deny code MQTT does not define) denies with
    /// 0x87 Not authorized; the error is counted in the function's [`crate::FunctionStats`], logged with the
    /// function's name, and returned in [`Authorization::error`].
    pub fn authorize(&self, function: &FunctionRef, request: &AuthRequest<'_>, ctx: &Context) -> Authorization {
        match self.call_authorize(function, request, ctx) {
            Ok(verdict) => Authorization { verdict, error: None },
            Err(error) => Authorization {
                verdict: Verdict::deny(),
                error: Some(error),
            },
        }
    }

    fn call_authorize(
        &self,
        function: &FunctionRef,
        request: &AuthRequest<'_>,
        ctx: &Context,
    ) -> Result<Verdict, Error> {
        let slot = self.slot(&function.module).inspect_err(|error| {
            tracing::warn!(%function, %error, "authorize function unavailable; denied");
        })?;
        let info = self.function_info(function);
        info.record_call();
        let module = slot.current();
        let mut instance = module.checkout().map_err(|f| self.fail(&info, f))?;
        encode(instance.request_buf(), request, ctx);
        match instance.call(&info, &self.limits) {
            Ok(()) => {
                let verdict = decode(instance.response());
                module.checkin(instance);
                verdict.map_err(|f| self.fail(&info, f))
            }
            Err(failure) => {
                if !failure.discards_instance() {
                    module.checkin(instance);
                }
                Err(self.fail(&info, failure))
            }
        }
    }
}

fn check_declared(module: &LoadedModule, function: &FunctionRef) -> Result<(), Error> {
    if !module.declares_functions() {
        // A plain waPC module: its handlers are registered at run time and cannot be listed. It is trusted
        // here, and can then not be replaced by a reload (which could not be checked either).
        return Ok(());
    }
    match module.declaration(&function.function) {
        Some(Declared::Authorize) => Ok(()),
        Some(Declared::Message(d)) => Err(Error::NotAuthorizeFunction {
            function: function.clone(),
            declared: d.as_str(),
        }),
        None => Err(Error::UnknownFunction(function.clone())),
    }
}

fn encode(out: &mut Vec<u8>, request: &AuthRequest<'_>, ctx: &Context) {
    let peer = ctx.peer_addr.map(|a| a.to_string());
    encode_auth_request(
        &AuthRequestView {
            action: request.action,
            topic: request.topic.as_bytes(),
            qos: request.qos,
            retain: request.retain,
            protocol_version: ctx.protocol_version,
            client_id: ctx.client_id.as_bytes(),
            username: ctx.username.as_deref().map(str::as_bytes),
            peer_addr: peer.as_deref().map(str::as_bytes),
        },
        out,
    );
}

/// Decodes the guest's verdict; a deny must carry a reason code MQTT defines.
fn decode(response: &[u8]) -> Result<Verdict, CallFailure> {
    let verdict = Verdict::decode(response)?;
    if let Verdict::Deny { reason_code } = verdict
        && ReasonCode::from_u8(reason_code).is_none()
    {
        return Err(CallFailure::Protocol(format!(
            "deny reason code {reason_code:#04x} is not an MQTT reason code"
        )));
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_decode_and_bad_codes_fail() {
        assert_eq!(decode(&[hpmq_abi::VERSION, 0]), Ok(Verdict::Allow));
        assert_eq!(decode(&[hpmq_abi::VERSION, 1, 0x87]), Ok(Verdict::deny()));
        assert_eq!(
            decode(&[hpmq_abi::VERSION, 1, 0x97]),
            Ok(Verdict::Deny {
                reason_code: ReasonCode::QuotaExceeded.as_u8()
            })
        );
        assert!(matches!(
            decode(&[hpmq_abi::VERSION, 1, 0xff]),
            Err(CallFailure::Protocol(_))
        ));
        assert!(matches!(
            decode(&[hpmq_abi::VERSION, 1, 0x00]),
            Err(CallFailure::BadOutput(_))
        ));
        assert!(matches!(
            decode(&[hpmq_abi::VERSION, 1]),
            Err(CallFailure::BadOutput(_))
        ));
    }
}
