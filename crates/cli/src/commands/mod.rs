pub mod bench;
pub mod compare;
pub mod demo;
pub mod info;
pub mod plot;
pub mod segment;
pub mod split;
pub mod train;
