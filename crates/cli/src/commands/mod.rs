pub mod bench;
pub mod compare;
pub mod demo;
pub mod info;
pub mod segment;
pub mod train;
