//! The charm: read the world, compute the desired state, converge. Every hook reconciles everything.
pub mod actions;
pub mod config;
pub mod converge;
pub mod desired;
pub mod event;
pub mod files;
pub mod hooktools;
pub mod legacy;
pub mod netinfo;
pub mod paths;
pub mod render;
pub mod sanadvice;
pub mod service;
pub mod status;
pub mod tlscheck;
pub mod workerbin;
pub mod workerstate;
pub mod world;

use event::Event;
use hooktools::{HookTools, LogLevel};
use paths::Paths;
use world::{HookEnv, World};

/// Why a hook failed (the charm or its environment is broken; Juju retries the hook).
#[derive(Debug, thiserror::Error)]
pub enum CharmError {
    /// Reading the world failed.
    #[error(transparent)]
    World(#[from] world::WorldError),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// Applying failed.
    #[error(transparent)]
    Converge(#[from] converge::ConvergeError),
    /// A hook tool failed.
    #[error(transparent)]
    HookTool(#[from] hooktools::HookToolError),
}

/// Runs one event with the real hook tools and host paths.
pub fn run(event: Event) -> Result<converge::Report, CharmError> {
    let tools = HookTools::from_path();
    let paths = Paths::from_env();
    let env = HookEnv::from_env(event)?;
    if let Event::Action(name) = &env.event {
        actions::run(name, &tools, &paths, &env.charm_dir)?;
        return Ok(converge::Report::default());
    }
    let (world, warnings) = World::read(env, &tools, &paths)?;
    for w in warnings {
        let _ = tools.juju_log(LogLevel::Warning, &w);
    }
    let plan = desired::plan(&world, &paths)?;
    let legacy = desired::legacy_stop(&world, &plan);
    let prelude = desired::prelude(&world.env.event);
    Ok(converge::Converger::new(&tools, &paths).apply(&prelude, plan, legacy, &world)?)
}
