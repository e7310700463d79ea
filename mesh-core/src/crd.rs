//! The CustomResourceDefinition, generated from the model.

use kube_core::CustomResourceExt;

use crate::model::SmartLimiter;

/// The SmartLimiter CRD as YAML (what `meshctl crds` prints and `crds/smartlimiter.yaml` holds).
pub fn smartlimiter_crd_yaml() -> String {
    let crd = serde_json::to_value(SmartLimiter::crd()).expect("CRD serializes");
    crate::yaml::to_yaml(&crd)
}
