//! The `#[upstream]`, `#[downstream]` and `#[authorize]` attributes of the hpmq guest SDK.
//!
//! Use them through `hpmq-sdk` (imported as `hpmq`), which documents the accepted signatures. Each attribute
//! keeps the function as written and adds, for `wasm32` builds, two exports (their names are defined in
//! `hpmq_abi::exports`): `__hpmq_{kind}_{name}` (kind `upstream`, `downstream` or `authorize`) registers the
//! function with the waPC dispatcher under its own name, and `__hpmq_call_{name}` is the function's direct
//! entry, the waPC call protocol without the dispatcher's name lookup. The host calls the registrations once
//! per instance, which is why no `sdk_init!()` or `wapc_init` is needed, reads their names to know what each
//! function is, and calls each function through its direct entry.
//!
//! ```ignore
//! #[hpmq::upstream]
//! fn tag(msg: &hpmq::Message, ctx: &hpmq::Context) -> hpmq::anyhow::Result<hpmq::Action> { ... }
//! ```

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, parse_macro_input};

/// Marks a function that runs on device → broker publishes, before routing.
///
/// Accepts `fn(&Message, &Context) -> Result<Action>` or the seed form
/// `fn(String, &[u8], Option<Vec<u8>>, HashMap<String, String>) -> Result<HandResult>`.
#[proc_macro_attribute]
pub fn upstream(args: TokenStream, item: TokenStream) -> TokenStream {
    expand("upstream", args.into(), parse_macro_input!(item as ItemFn)).into()
}

/// Marks a function that runs on broker → subscriber deliveries, after routing.
///
/// Accepts the same two signatures as [`macro@upstream`].
#[proc_macro_attribute]
pub fn downstream(args: TokenStream, item: TokenStream) -> TokenStream {
    expand("downstream", args.into(), parse_macro_input!(item as ItemFn)).into()
}

/// Marks an authorize hook: asked whether a client may publish to a topic or subscribe to a filter.
///
/// Accepts `fn(&AuthRequest, &Context) -> Result<Verdict>`.
#[proc_macro_attribute]
pub fn authorize(args: TokenStream, item: TokenStream) -> TokenStream {
    expand("authorize", args.into(), parse_macro_input!(item as ItemFn)).into()
}

const AUTHORIZE: &str = "fn name(req: &hpmq::AuthRequest, ctx: &hpmq::Context) -> hpmq::anyhow::Result<hpmq::Verdict>";

const TYPED: &str = "fn name(msg: &hpmq::Message, ctx: &hpmq::Context) -> hpmq::anyhow::Result<hpmq::Action>";
const SEED: &str = "fn name(topic: String, payload: &[u8], his_payload: Option<Vec<u8>>, \
                    context: HashMap<String, String>) -> hpmq::anyhow::Result<hpmq::HandResult>";

enum Form {
    Typed,
    Seed,
    Authorize,
}

fn check(direction: &str, args: TokenStream2, f: &ItemFn) -> Result<Form, syn::Error> {
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            format!("`#[{direction}]` takes no arguments; the function is exported under its own name"),
        ));
    }
    let sig = &f.sig;
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new(
            a.span(),
            format!("`#[{direction}]` functions cannot be `async`"),
        ));
    }
    if let Some(u) = &sig.unsafety {
        return Err(syn::Error::new(
            u.span(),
            format!("`#[{direction}]` functions cannot be `unsafe`"),
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new(
            abi.span(),
            format!("`#[{direction}]` functions are plain Rust functions; remove the `extern` ABI"),
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            format!("`#[{direction}]` functions cannot be `const`"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("`#[{direction}]` functions cannot be generic: the host calls one concrete function"),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(
            v.span(),
            format!("`#[{direction}]` functions cannot be variadic"),
        ));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        return Err(syn::Error::new(
            r.span(),
            format!("`#[{direction}]` must be on a free function, not a method taking `self`"),
        ));
    }
    if sig.ident.to_string().starts_with("__") {
        return Err(syn::Error::new(
            sig.ident.span(),
            "names starting with `__` are reserved for the waPC protocol",
        ));
    }
    if direction == "authorize" {
        if matches!(sig.output, ReturnType::Default) {
            return Err(syn::Error::new(
                sig.paren_token.span.close(),
                format!("`#[authorize]` functions return `Result<Verdict>`; expected\n  {AUTHORIZE}"),
            ));
        }
        return match sig.inputs.len() {
            2 => Ok(Form::Authorize),
            n => Err(syn::Error::new(
                if n == 0 {
                    sig.paren_token.span.join()
                } else {
                    sig.inputs.span()
                },
                format!("`#[authorize]` expects 2 parameters, found {n}; expected\n  {AUTHORIZE}"),
            )),
        };
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new(
            sig.paren_token.span.close(),
            format!(
                "`#[{direction}]` functions return `Result<Action>` or `Result<HandResult>`; expected\n  {TYPED}\nor\n  {SEED}"
            ),
        ));
    }
    match sig.inputs.len() {
        2 => Ok(Form::Typed),
        4 => Ok(Form::Seed),
        n => Err(syn::Error::new(
            if n == 0 {
                sig.paren_token.span.join()
            } else {
                sig.inputs.span()
            },
            format!(
                "`#[{direction}]` expects 2 parameters (typed form) or 4 (seed form), found {n}; expected\n  {TYPED}\nor\n  {SEED}"
            ),
        )),
    }
}

fn expand(direction: &str, args: TokenStream2, f: ItemFn) -> TokenStream2 {
    let form = match check(direction, args, &f) {
        Ok(form) => form,
        Err(e) => {
            let err = e.to_compile_error();
            return quote! { #f #err };
        }
    };
    let name = &f.sig.ident;
    let name_str = name.to_string();
    let prefix = match form {
        Form::Authorize => hpmq_abi::exports::AUTHORIZE_PREFIX,
        _ if direction == "downstream" => hpmq_abi::exports::DOWNSTREAM_PREFIX,
        _ => hpmq_abi::exports::UPSTREAM_PREFIX,
    };
    let export = format!("{prefix}{name_str}");
    let call_export = format!("{}{name_str}", hpmq_abi::exports::CALL_PREFIX);
    let register = format_ident!("__hpmq_register_{}", name);
    let entry = format_ident!("__hpmq_call_{}", name);
    let span = f.sig.span();
    let (fn_type, call, direct) = match form {
        Form::Typed => (
            quote!(::hpmq::__private::TypedFn),
            quote!(::hpmq::__private::call_typed),
            quote!(::hpmq::__private::direct_typed),
        ),
        Form::Seed => (
            quote!(::hpmq::__private::SeedFn),
            quote!(::hpmq::__private::call_seed),
            quote!(::hpmq::__private::direct_seed),
        ),
        Form::Authorize => (
            quote!(::hpmq::__private::AuthorizeFn),
            quote!(::hpmq::__private::call_authorize),
            quote!(::hpmq::__private::direct_authorize),
        ),
    };
    // The signature check is emitted for every target (so `cargo check` on the host reports it) and spanned to
    // the user's signature, so a wrong parameter type is reported there, not inside generated code.
    let type_check = quote_spanned! {span=>
        const _: #fn_type = #name;
    };
    quote! {
        #f

        #type_check

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[doc(hidden)]
            #[unsafe(export_name = #export)]
            extern "C" fn #register() {
                fn handler(input: &[u8]) -> ::hpmq::__private::CallResult {
                    #call(input, #name)
                }
                ::hpmq::__private::register(#name_str, handler);
            }

            #[doc(hidden)]
            #[unsafe(export_name = #call_export)]
            extern "C" fn #entry(request_len: i32) -> i32 {
                #direct(request_len, #name)
            }
        };
    }
}
