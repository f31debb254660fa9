use burn::prelude::*;
use promptseg_nets::{AgentConfig, UNetConfig};
use std::time::Instant;
fn main() {
    let device = Device::flex();
    let net = UNetConfig::default().init(&device);
    println!("unet params {}", net.num_params());
    for s in [48usize, 64] {
        let x = Tensor::<5>::zeros([1, 3, s, s, s], &device);
        let _ = net.forward(x.clone()).into_data();
        let t = Instant::now();
        for _ in 0..3 {
            let _ = net.forward(x.clone()).into_data();
        }
        println!("unet fwd {s}^3: {:.3}s", t.elapsed().as_secs_f64() / 3.0);
    }
    let ad = Device::flex().autodiff();
    let net = UNetConfig::default().init(&ad);
    for (b, s) in [(2usize, 48usize), (1, 64)] {
        let x = Tensor::<5>::zeros([b, 3, s, s, s], &ad);
        let t = Instant::now();
        for _ in 0..2 {
            let y = net.forward(x.clone()).mean();
            let _g = y.backward();
        }
        println!(
            "unet fwd+bwd b{b} {s}^3: {:.3}s",
            t.elapsed().as_secs_f64() / 2.0
        );
    }
    let agent = AgentConfig::default().init(&device);
    println!("agent params {}", agent.num_params());
    let x = Tensor::<5>::zeros([1, 4, 64, 64, 64], &device);
    let _ = agent.forward(x.clone()).value.into_data();
    let t = Instant::now();
    for _ in 0..5 {
        let _ = agent.forward(x.clone()).value.into_data();
    }
    println!("agent fwd: {:.4}s", t.elapsed().as_secs_f64() / 5.0);
    let agent = AgentConfig::default().init(&ad);
    let x = Tensor::<5>::zeros([16, 4, 64, 64, 64], &ad);
    let t = Instant::now();
    let y = agent.forward(x).value.mean();
    let _g = y.backward();
    println!("agent fwd+bwd b16: {:.3}s", t.elapsed().as_secs_f64());
}
