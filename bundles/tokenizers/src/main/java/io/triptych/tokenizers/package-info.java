/**
 * Hugging Face tokenizers ({@code tokenizer.json}) for the engines: encode, decode, and
 * incremental decoding for streaming. The Rust implementation behind it is embedded and hidden.
 */
@Export
@Version("1.0.0")
package io.triptych.tokenizers;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
